"""The commands on speeches' texts: compare, export and reuse."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import SiteBuilderError
from ..report import print_problems, say
from .common import (
    CONTEXT,
    CommandError,
    _config,
    _stdout,
    _write_out,
    cli,
    content_option,
    content_options,
    show_error,
)


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
    from .. import compare as cmp

    config, _ = _config(content, output)
    try:
        side_a, side_b = cmp.read_side(a, config), cmp.read_side(b, config)
    except cmp.CompareError as err:
        print_problems(err.problems)
        show_error(str(err))
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
        say(f"similarity {result.similarity:.1%}; wrote {html_file}")


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
@content_option
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
    from ..export import FIELDS, load_rows, write_csv, write_jsonl
    from ..loader import display_path

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
        say(f"export: {what} left out: {shown}")
    if out_file:
        say(f"export: {n} speeches written to {out_file}")
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
@content_option
def reuse(speech, as_json, min_chars, content):
    """List passages found in more than one speech (与其他讲话相同的段落), with the paragraph of
    each place (url: the page and #p<n>); with SPEECH (its file or page URL), only its passages.

    \b
    Texts are compared after folding (繁/简, full/half width, case), within paragraphs.
    Examples:
      site-builder reuse
      site-builder reuse content/2023/工作会议.md --json
    """
    from ..reuse.command import run

    config, _ = _config(content, None)
    try:
        code, errors = run(config, speech, as_json, min_chars, _write_out)
    except SiteBuilderError as err:
        raise CommandError(err) from None
    print_problems(errors)
    sys.exit(code)
