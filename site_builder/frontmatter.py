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


#: At most this many values (list items, keys, texts) once YAML aliases are expanded: a few
#: lines of ``&a``/``*a`` can otherwise stand for billions ("billion laughs").
MAX_VALUES = 10_000
_ALIAS_HINT = "front-matter values are text or lists of text; do not use YAML anchors (&) and aliases (*)"


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_size(root) -> None:
    """Refuse a document whose aliases expand to too many values or refer to themselves."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = min(MAX_VALUES + 1, 1 + sum(sizes[id(c)] for c in _children(node)))
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise FrontMatterError("YAML error: a value refers to itself (through an alias)",
                                   node.start_mark.line + 2, _ALIAS_HINT)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    if sizes[id(root)] > MAX_VALUES:
        raise FrontMatterError(f"YAML error: the front matter holds more than {MAX_VALUES} values", 2, _ALIAS_HINT)


def _failing_line(node) -> int:
    """The line of the first top-level value that cannot be built on its own."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            try:
                one = _Loader("")
                try:
                    one.construct_object(value_node, deep=True)
                finally:
                    one.dispose()
            except Exception:
                return key_node.start_mark.line + 2
    return node.start_mark.line + 2


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
            if node is not None:
                _check_size(node)
            try:
                data = loader.construct_document(node) if node is not None else None
            except (ValueError, TypeError, AttributeError, OverflowError) as err:
                # A value PyYAML cannot build (an explicit tag such as !!timestamp 2020-02-30).
                why = f": {err}" if isinstance(err, (ValueError, OverflowError)) else " with its !!tag"
                raise FrontMatterError(f"YAML error: cannot read a value{why}", _failing_line(node),
                                       "remove the !!tag before the value, or quote the value") from None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        line = mark.line + 2 if mark is not None else 2
        raise FrontMatterError(f"YAML error: {problem}", line, _yaml_hint(problem)) from None
    except RecursionError:
        raise FrontMatterError("YAML error: the values are nested too deeply", 2,
                               "front-matter values are text or lists of text") from None
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
