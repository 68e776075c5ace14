"""Problems found in content or configuration, and the exceptions the CLI turns into messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, printed as ``path:line: field: message`` + hint."""

    path: str  # as shown to the user (relative to the current directory when possible)
    line: int | None
    field: str | None
    message: str
    hint: str | None = None
    severity: str = "error"  # "error" or "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        path = _printable(self.path)
        where = path if self.line is None else f"{path}:{self.line}"
        label = "warning: " if self.severity == "warning" else ""
        head = f"{where}: {label}{self.field}: {self.message}" if self.field else f"{where}: {label}{self.message}"
        return head + (f"\n    hint: {self.hint}" if self.hint else "")


def _printable(text: str) -> str:
    """Control characters (ESC, BEL …) from file names are shown as \\x1b, never sent to the terminal."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


class SiteBuilderError(Exception):
    """An error the CLI prints as a message (never a traceback)."""

    exit_code = 1


class UsageError(SiteBuilderError):
    """Bad command-line usage or configuration: exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """The [tool.site_builder] configuration is invalid."""
