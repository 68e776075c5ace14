"""The command line: thin wrappers around build, check, search, compare, export, new, import and serve.

Exit codes: 0 ok, 1 content errors, 2 usage errors.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from . import __version__
from .config import load_config
from .errors import SiteBuilderError
from .report import Progress, print_problems

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CommandError(click.ClickException):
    """A SiteBuilderError raised inside a command, shown as ``error: …`` with its exit code."""

    def __init__(self, err: SiteBuilderError):
        super().__init__(str(err))
        self.exit_code = err.exit_code  # type: ignore[misc]  # click declares it on the class

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
    f = click.option(
        "--output",
        "output",
        type=click.Path(file_okay=False),
        default=None,
        help="Output folder (default: output/, or output_dir in pyproject.toml).",
    )(f)
    f = click.option(
        "--content",
        "content",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder of speech Markdown files (default: content/).",
    )(f)
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
    result = run_build(
        config, progress=progress, explain=explain, notify=None if quiet else lambda msg: click.echo(msg, err=True)
    )
    print_problems(warnings + result.problems)
    if explain and not quiet:
        for line in result.explain:
            click.echo(f"  {line}", err=True)
        if result.timings:
            click.echo("  seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()), err=True)
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
        click.echo(
            f"{len(result.review)} 篇讲话待核对 (awaiting review: fields imported from a guess; "
            "confirm them, then delete the review line):",
            err=True,
        )
        for source, fields in result.review:
            click.echo(f"  {config.content_dir / source}: " + ", ".join(fields), err=True)
    if not quiet:
        click.echo(result.summary(check_only=True), err=True)
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
    from .cache import clean as run_clean

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
    from .query import FilterError, QueryError
    from .search import terminal
    from .search_index import SearchIndex

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


class _Utf8Out:
    """Standard output written as UTF-8 bytes, whatever the locale says (CSV, JSON Lines)."""

    def __init__(self):
        sys.stdout.flush()
        self.buffer = getattr(sys.stdout, "buffer", None)

    def write(self, text: str) -> None:
        if self.buffer is None:
            sys.stdout.write(text)
        else:
            self.buffer.write(text.encode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        (self.buffer or sys.stdout).flush()


def _stdout() -> _Utf8Out:
    return _Utf8Out()


def _write_out(text: str) -> None:
    out = _stdout()
    out.write(text)
    out.flush()


@cli.command(context_settings=CONTEXT)
@click.argument("a")
@click.argument("b")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"a", "b", "similarity", "chunks": [{"op", "a", "b"}]}: op is equal, insert, delete or '
    "replace; the a-sides of the chunks joined are A's text, the b-sides B's.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Also write a standalone page with both texts side by side and inline.",
)
@content_options
def compare(a, b, as_json, html_file, content, output):
    """Show what changed between two speeches: A (older) and B (newer).

    \b
    A and B are speech files (content/2021/讲话.md), built speech pages (output/speeches/2021/讲话.html,
    or the same path relative to the output folder, as `search --json` gives it in "url"), or their
    URLs (http://127.0.0.1:8000/speeches/2021/讲话.html). The plain texts of the bodies are
    compared: sentences first (split after 。！？； and line breaks), then the characters of the
    sentences that changed. Deletions are shown as [-…-] and insertions as {+…+} (in colour on a
    terminal); long identical runs are folded. Similarity = 2 × identical characters / (A + B).
    Exit codes: 0 compared, 1 a speech file has errors, 2 a speech cannot be read.

    \b
    Examples:
      site-builder compare content/2022/工作会议.md content/2023/工作会议.md
      site-builder compare output/speeches/2022/a.html speeches/2023/b.html --json
      site-builder compare a.md b.md --html diff.html
    """
    from . import compare as cmp

    config, _ = _config(content, output)
    try:
        side_a, side_b = cmp.read_side(a, config), cmp.read_side(b, config)
    except cmp.CompareError as err:
        print_problems(err.problems)
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    result = cmp.compare_texts(side_a.text, side_b.text)
    if html_file:
        try:
            Path(html_file).write_text(cmp.standalone_html(result, side_a, side_b), encoding="utf-8")
        except OSError as err:
            raise click.UsageError(f"cannot write {html_file}: {err.strerror}") from None
    if as_json:
        _write_out(cmp.dumps(cmp.as_json(result, side_a, side_b)) + "\n")
    elif not html_file:
        _write_out(cmp.terminal(result, side_a, side_b, color=cmp.use_color(sys.stdout)))
    else:
        click.echo(f"similarity {result.similarity:.1%}; wrote {html_file}", err=True)


@cli.command(context_settings=CONTEXT)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="CSV (one header row) or JSON Lines (one object a line).",
)
@click.option("--text", "with_text", is_flag=True, help="Add a 'text' column: the plain text of the speech.")
@click.option(
    "--content",
    "content",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of speech Markdown files (default: content/).",
)
@click.option(
    "--output",
    "out_file",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Write to FILE instead of standard output. A CSV file starts with a UTF-8 byte order "
    "mark (BOM) so that Excel reads the Chinese; standard output has none.",
)
def export(fmt, with_text, content, out_file):
    """Write one row per speech: source, url, title, date, meeting_type, themes, speaker,
    organization, 字数 (and text with --text), newest first, in UTF-8.

    \b
    The rows are the speeches the site publishes (drafts left out); url is the page's path
    relative to the site root, themes are separated by ';' in CSV and a list in JSON Lines.
    Speeches with errors are left out and named on standard error (exit code 1).
    Examples:
      site-builder export --output speeches.csv
      site-builder export --format jsonl --text > speeches.jsonl
    """
    from .export import FIELDS, load_rows, write_csv, write_jsonl
    from .loader import display_path

    config, _ = _config(content, None)
    try:
        rows, errors, skipped = load_rows(config, with_text)
    except SiteBuilderError as err:
        raise CommandError(err) from None
    fields = FIELDS + (["text"] if with_text else [])
    if out_file:
        try:
            with open(out_file, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as fh:
                n = write_csv(rows, fields, fh) if fmt == "csv" else write_jsonl(rows, fh)
        except OSError as err:
            raise click.UsageError(f"cannot write {out_file}: {err.strerror}") from None
    else:
        out = _stdout()
        n = write_csv(rows, fields, out) if fmt == "csv" else write_jsonl(rows, out)
        out.flush()
    print_problems(errors)
    if skipped:
        shown = ", ".join(display_path(config.content / s) for s in skipped[:20]) + (" …" if len(skipped) > 20 else "")
        what = "1 speech with errors was" if len(skipped) == 1 else f"{len(skipped)} speeches with errors were"
        click.echo(f"export: {what} left out: {shown}", err=True)
    if out_file:
        click.echo(f"export: {n} speeches written to {out_file}", err=True)
    sys.exit(1 if skipped or errors else 0)


@cli.command(context_settings=CONTEXT)
@click.argument("speech", required=False)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"passages": [{"text", "occurrences": [{"source", "url"}]}]}.'
)
@click.option(
    "--min-chars",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Passages of at least N characters (default: reuse_min_chars in pyproject.toml, 30).",
)
@click.option(
    "--content",
    "content",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of speech Markdown files (default: content/).",
)
def reuse(speech, as_json, min_chars, content):
    """List passages found in more than one speech (与其他讲话相同的段落), with the paragraph of
    each place (url: the page and #p<n>); with SPEECH (its file or page URL), only its passages.

    \b
    Texts are compared after folding (繁/简, full/half width, case), within paragraphs.
    Examples:
      site-builder reuse
      site-builder reuse content/2023/工作会议.md --json
    """
    from .reuse.command import run

    config, _ = _config(content, None)
    try:
        code, errors = run(config, speech, as_json, min_chars, _write_out)
    except SiteBuilderError as err:
        raise CommandError(err) from None
    print_problems(errors)
    sys.exit(code)


@cli.command("import", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--content",
    "content_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Content folder to write into (default: content/, or content_dir in pyproject.toml).",
)
@click.option(
    "--metadata",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.csv",
    help="A sheet of values per file: a 'file' column (name or path) and columns named like front-matter "
    "fields (title, date, meeting_type, themes separated by ; or 、, speaker, …). They win over the text.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.csv",
    help="Write one row per file: each field and where it came from, dropped lines, duplicates.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--strict", is_flag=True, help="Write only files whose required fields were all read, not guessed.")
@click.option("-v", "--verbose", is_flag=True, help="Show every field with where it came from.")
@click.option("--title", help="Title (only with a single file; use --metadata for many).")
@click.option(
    "--date", "date_text", metavar="DATE", help="Date for every file: 2020-03-05, 2020-03, 2020 or 2020年3月5日."
)
@click.option(
    "--force-year",
    type=click.IntRange(1800, 9999),
    metavar="YEAR",
    help="Use this year even when the text or file name names another.",
)
@click.option("--meeting-type", help="Meeting type for every file, e.g. 座谈会.")
@click.option("--theme", "themes", multiple=True, help="A theme for every file (repeat, or separate with 、).")
@click.option("--speaker", help="Speaker for every file.")
@click.option("--organization", help="Organisation for every file.")
@click.option("--slug", help="File name without .md (only with a single file).")
def import_(
    paths,
    content_dir,
    sheet,
    report,
    dry_run,
    strict,
    verbose,
    title,
    date_text,
    force_year,
    meeting_type,
    themes,
    speaker,
    organization,
    slug,
):
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
    from .report import configure_logging
    from .schema import slug_problem

    configure_logging(verbose=verbose)
    if (title or slug) and (len(paths) > 1 or any(Path(p).is_dir() for p in paths)):
        raise click.UsageError("--title and --slug apply to one file; for many files give a --metadata sheet")
    date = parse_date_option(date_text)
    if date is not None and force_year is not None and date.year != force_year:
        raise click.UsageError(f"--date {date_text} and --force-year {force_year} disagree; give one of them")
    if slug is not None and (why := slug_problem(slug)):
        raise click.BadParameter(why, param_hint="--slug")
    config, _warnings = _config(content_dir, None)
    check_closed(meeting_type, config.meeting_types, "--meeting-type")
    theme_list = split_list("、".join(themes)) if themes else []
    for theme in theme_list:
        check_closed(theme, config.themes, "--theme")
    given = {
        "title": title,
        "date": date,
        "meeting_type": meeting_type,
        "themes": theme_list,
        "speaker": speaker,
        "organization": organization,
        "slug": slug,
        "force_year": force_year,
    }
    options = Options(
        content=config.content,
        dry_run=dry_run,
        strict=strict,
        verbose=verbose,
        given={k: v for k, v in given.items() if v not in (None, "", [])},
        sheet=read_sheet(sheet) if sheet else None,
        report=report,
    )
    sys.exit(run_import([Path(p) for p in paths], config, options, click.echo))


@cli.command(context_settings=CONTEXT)
@click.option("--title", help="Title, e.g. 在2021年度党建工作会议上的讲话.")
@click.option("--date", "date_text", metavar="DATE", help="Date: 2021-03-05, 2021-03, 2021 or 2021年3月5日.")
@click.option("--meeting-type", help="Meeting type, e.g. 座谈会.")
@click.option("--theme", "themes", multiple=True, help="A theme (repeat the option, or separate with 、 or commas).")
@click.option("--speaker", help="Speaker (optional).")
@click.option("--organization", help="Organisation (optional).")
@click.option("--slug", help="File name (without .md); default: made from the title.")
@click.option(
    "--content",
    "content_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Content folder (default: content_dir from pyproject.toml, i.e. content/).",
)
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
    from .schema import slug_problem

    config, _warnings = _config(content_dir, None)
    if slug is not None and (why := slug_problem(slug)):
        raise click.BadParameter(why, param_hint="--slug")
    values = {
        "title": title,
        "date": authoring.parse_date_option(date_text),
        "meeting_type": meeting_type,
        "themes": split_list("、".join(themes)) if themes else [],
        "speaker": speaker,
        "organization": organization,
        "slug": slug,
    }
    vocab = scan_vocabulary(config.content, config)
    interactive = not no_input and authoring.stdin_is_tty()
    sys.exit(authoring.create_speech(config, config.content, vocab, values, interactive))


class _Commands(dict):
    """The group's commands; ``serve`` (an HTTP server, a watcher, threads: a tenth of a second of
    start-up) is imported when it is looked up, and only if its module is present (#15)."""

    def _load(self, name: str):
        if name == "serve" and dict.get(self, name, 0) is None:
            try:
                from .server import serve_command
            except ImportError:
                return dict.pop(self, name)
            self[name] = serve_command
        return dict.get(self, name)

    def __getitem__(self, name: str):
        if (value := self._load(name)) is None:
            raise KeyError(name)
        return value

    def get(self, name, default=None):
        value = self._load(name)
        return default if value is None else value


cli.commands = _Commands(cli.commands, serve=None)


def main(argv: list[str] | None = None) -> int:
    from .report import configure_logging

    configure_logging()  # diagnostics (logging) to stderr; `import -v` or SITE_BUILDER_DEBUG=1 shows all
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
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "    hint: this is a bug in site-builder; run again with SITE_BUILDER_DEBUG=1 for "
            "the details and report them",
            err=True,
        )
        return 70
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0
