"""The command line: thin wrappers around build, check, clean, search, compare, export, reuse, new,
import and serve — one module per group of commands (site, texts, authoring), the group and what
they share in ``common``.

Exit codes: 0 ok, 1 content errors, 2 usage errors.
"""

from __future__ import annotations

import os

import click

from ..errors import SiteBuilderError
from ..messages_zh import translate
from . import authoring, site, texts  # noqa: F401 - importing them registers their commands
from .common import CommandError, cli, show_error

__all__ = ["cli", "main"]


class _Commands(dict):
    """The group's commands; ``serve`` (an HTTP server, a watcher, threads: a tenth of a second of
    start-up) is imported when it is looked up, and only if its module is present (#15)."""

    def _load(self, name: str):
        if name == "serve" and dict.get(self, name, 0) is None:
            try:
                from ..server import serve_command
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
    from ..report import configure_logging

    configure_logging()  # diagnostics (logging) to stderr; `import -v` or SITE_BUILDER_DEBUG=1 shows all
    try:
        cli.main(args=argv, prog_name="site-builder", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        if not isinstance(exc, CommandError) and (zh := translate(exc.format_message())) is not None:
            click.echo(f"错误：{zh}", err=True)  # click's own lines (usage, Error: …) follow in English
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("已中止。\nAborted.", err=True)
        return 1
    except SiteBuilderError as exc:
        show_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("已中断。\nInterrupted.", err=True)
        return 130
    except Exception as exc:  # a bug of ours: say so in one line; the traceback only on request
        if os.environ.get("SITE_BUILDER_DEBUG"):
            raise
        click.echo(
            f"内部错误：{type(exc).__name__}: {exc}\n"
            f"internal error: {type(exc).__name__}: {exc}\n"
            "    提示：这是 site-builder 的程序错误；请设置 SITE_BUILDER_DEBUG=1 再运行一次查看详情，并报告\n"
            "    hint: this is a bug in site-builder; run again with SITE_BUILDER_DEBUG=1 for "
            "the details and report them",
            err=True,
        )
        return 70
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0
