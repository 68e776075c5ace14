"""What metadata inference gives: each field's value with where it came from and how it was
found (``Value``), and the title lines, moved lines, notes and suggestions (``Metadata``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Value:
    value: object
    source: str
    """``text:N`` (source line N), ``source`` (the file's own title), ``file name``, ``guess``,
    ``sheet`` or ``option``."""
    how: str = ""
    review: bool = False


@dataclass
class Metadata:
    values: dict[str, Value] = field(default_factory=dict)
    title_lines: list[int] = field(default_factory=list)
    """Indices (into the lines given to :func:`infer`) of the lines that make up the title."""
    remainder: dict[int, str] = field(default_factory=dict)
    """Index → what stays in the body of a line whose title part moved to the front matter."""
    moved: list[tuple[int, str]] = field(default_factory=list)
    """(source line, text) of lines moved into the front matter."""
    notes: list[str] = field(default_factory=list)
    suggestions: dict[str, list[str]] = field(default_factory=dict)
