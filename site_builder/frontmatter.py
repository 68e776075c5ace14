"""Split the leading ``---`` YAML block from a speech and read it, with line numbers."""
from __future__ import annotations

from dataclasses import dataclass

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe YAML without implicit timestamps: dates stay text so that dates.parse_date can
    explain a bad one (PyYAML would raise on 2021-02-29 without saying which field)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


class FrontMatterError(ValueError):
    """``line`` is 1-based in the whole file; ``hint`` says how to fix it."""

    def __init__(self, message: str, line: int | None, hint: str | None = None):
        self.message, self.line, self.hint = message, line, hint
        super().__init__(message)


@dataclass
class FrontMatter:
    data: dict
    key_lines: dict[str, int]  # key → 1-based line in the file
    body: str
    body_line: int  # 1-based line where the body starts


_HINTS = {
    "mapping values are not allowed": 'put the value in quotes when it contains a colon, e.g. title: "…：…"',
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
    "could not find expected ':'": "each line is key: value; a value that goes on must be indented or quoted",
    "found undefined alias": "a value starting with * must be quoted",
    "expected <block end>, but found '-'": "a list under a key must be indented the same way on every line",
}


def _yaml_hint(problem: str) -> str:
    for key, hint in _HINTS.items():
        if key in problem:
            return hint
    return 'check the quoting and indentation on that line; quote values with : # [ ] { } or a leading * & ! %'


def split(text: str) -> FrontMatter:
    """Split and parse; raise FrontMatterError with a 1-based line and a hint."""
    lines = text.split("\n")
    if not text.strip():
        raise FrontMatterError("empty file", None, "a speech needs a front matter block (---, title: …, ---) and its text")
    if lines[0].strip() != "---":
        raise FrontMatterError(
            "missing front matter: the file must start with a line '---'",
            1,
            "add at the top:\n      ---\n      title: …\n      date: 2020-03-05\n      meeting_type: …\n      themes: [ … ]\n      ---",
        )
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        raise FrontMatterError(
            "unclosed front matter: no closing '---' line", 1, "did you forget the '---' line after the last field?"
        )
    block = "\n".join(lines[1:end])
    try:
        loader = _Loader(block)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        line = mark.line + 2 if mark is not None else 2
        raise FrontMatterError(f"YAML error: {problem}", line, _yaml_hint(problem)) from None
    if data is None:
        raise FrontMatterError("the front matter is empty", 1, "add the fields title, date, meeting_type and themes")
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a line of text"}.get(type(data), type(data).__name__)
        raise FrontMatterError(
            f"the front matter must be key: value lines, not {kind}", 2, "write one field per line, e.g. title: …"
        )
    key_lines = {}
    for key_node, _value in node.value:
        key_lines[str(key_node.value)] = key_node.start_mark.line + 2
    return FrontMatter(data=data, key_lines=key_lines, body="\n".join(lines[end + 1 :]), body_line=end + 2)
