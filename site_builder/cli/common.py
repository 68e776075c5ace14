"""What every command shares: the click group, the content/output options, the configuration, errors
and UTF-8 standard output."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import __version__
from ..config import load_config
from ..errors import SiteBuilderError
from ..messages_zh import bilingual

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CommandError(click.ClickException):
    """A SiteBuilderError raised inside a command, shown as ``error: …`` with its exit code."""

    def __init__(self, err: SiteBuilderError):
        super().__init__(str(err))
        self.exit_code = err.exit_code  # type: ignore[misc]  # click declares it on the class

    def show(self, file=None) -> None:
        show_error(self.format_message())


def show_error(message: str) -> None:
    """``错误：`` + the Chinese (when messages_zh knows the message), then ``error: `` + the English."""
    click.echo(bilingual(message, "error: ", "错误："), err=True)


def _config(content, output, **extra):
    overrides = {"content_dir": Path(content) if content else None, "output_dir": Path(output) if output else None}
    overrides.update(extra)
    try:
        config, warnings = load_config(Path.cwd(), overrides)
    except SiteBuilderError as err:
        raise CommandError(err) from None
    return config, warnings


content_option = click.option(
    "--content",
    "content",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of speech Markdown files (default: content/).",
)
output_option = click.option(
    "--output",
    "output",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default: output/, or output_dir in pyproject.toml).",
)


def content_options(f):
    """``--content`` and ``--output`` (the folders every command that reads the archive takes)."""
    return content_option(output_option(f))


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
