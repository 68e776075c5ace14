"""The commands that add speeches: import and new."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import CONTEXT, _config, cli


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
    from ..authoring import check_closed, parse_date_option
    from ..importer.batch import Options, read_sheet, run_import, split_list
    from ..report import configure_logging
    from ..schema import slug_problem

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
    from .. import authoring
    from ..importer import scan_vocabulary
    from ..importer.batch import split_list
    from ..schema import slug_problem

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
