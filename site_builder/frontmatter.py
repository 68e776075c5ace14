"""Split the leading ``---`` YAML block from a speech and read it, with line numbers."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe YAML that reads every value as written: no implicit timestamps (dates stay text so
    that dates.parse_date can explain a bad one), and a plain scalar that YAML 1.1 would turn into
    a number, a boolean or a date (``2020.10`` → 2020.1, ``0123`` → 83, ``yes`` → True) stays its
    source text, as a :class:`Typed` string that says what YAML would have made of it."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


class Typed(str):
    """A value kept as written although YAML 1.1 gives it another type (``kind``): a text field
    uses it as text; a field that needs that type (``draft``) or must not be misread (``date``)
    can tell it from a quoted value."""

    __slots__ = ()
    kind = "text"


class IntText(Typed):
    """``0123``, ``0x10``, ``2020``, ``1_000``: an integer to YAML (0123 is octal 83 there)."""

    __slots__ = ()
    kind = "integer"


class FloatText(Typed):
    """``2020.10``, ``1e3``, ``.nan``: a float to YAML (2020.10 is 2020.1 there)."""

    __slots__ = ()
    kind = "number"


class BoolText(Typed):
    """``true``, ``yes``, ``no``, ``on``, ``off`` (any of YAML 1.1's spellings)."""

    __slots__ = ()
    kind = "boolean"

    @property
    def truth(self) -> bool:
        return _BOOLS[self.lower()]


class DateText(Typed):
    """A value tagged ``!!timestamp``: kept as text for dates.parse_date to judge."""

    __slots__ = ()
    kind = "date"


_BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}


def _keep(cls):
    def construct(loader, node):
        if not isinstance(node, yaml.ScalarNode):  # e.g. !!int [1, 2]
            raise yaml.constructor.ConstructorError(None, None, f"{node.tag} needs a single value", node.start_mark)
        return cls(node.value)

    return construct


for _tag, _cls in (
    ("int", IntText),
    ("float", FloatText),
    ("bool", BoolText),
    ("timestamp", DateText),
    ("value", Typed),
):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _keep(_cls))


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
    return "check the quoting and indentation on that line; quote values with : # [ ] { } or a leading * & ! %"


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
            raise FrontMatterError(
                "YAML error: a value refers to itself (through an alias)", node.start_mark.line + 2, _ALIAS_HINT
            )
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


def _line_starts(text: str, start: int):
    """(start, end) of each line of ``text`` from ``start`` on, without splitting all of it (a big
    body is not copied into a list of lines)."""
    while (end := text.find("\n", start)) >= 0:
        yield start, end
        start = end + 1
    yield start, len(text)


def split(text: str) -> FrontMatter:
    """Split and parse; raise FrontMatterError with a 1-based line and a hint."""
    if not text or text.isspace():
        raise FrontMatterError(
            "empty file", None, "a speech needs a front matter block (---, title: …, ---) and its text"
        )
    lines = _line_starts(text, 0)
    _, first_end = next(lines)
    if text[:first_end].strip() != "---":
        raise FrontMatterError(
            "missing front matter: the file must start with a line '---'",
            1,
            "add at the top:\n      ---\n      title: …\n      date: 2020-03-05\n      meeting_type: …\n      themes: [ … ]\n      ---",
        )
    end = None  # the closing line: its number (0-based) and where it starts and ends
    for number, (start, stop) in enumerate(lines, 1):
        if text[start:stop].rstrip() in ("---", "..."):
            end = number, start, stop
            break
    if end is None:
        raise FrontMatterError(
            "unclosed front matter: no closing '---' line", 1, "did you forget the '---' line after the last field?"
        )
    end_line, end_start, end_stop = end
    block = text[first_end + 1 : end_start - 1] if end_line > 1 else ""
    try:
        loader = _Loader(block)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_size(node)
            try:
                data = loader.construct_document(node) if node is not None else None
            except (ValueError, TypeError, AttributeError, OverflowError) as err:
                # A value PyYAML cannot build (an explicit tag such as !!binary on bad base64).
                why = f": {err}" if isinstance(err, (ValueError, OverflowError)) else " with its !!tag"
                raise FrontMatterError(
                    f"YAML error: cannot read a value{why}",
                    _failing_line(node),
                    "remove the !!tag before the value, or quote the value",
                ) from None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        line = mark.line + 2 if mark is not None else 2
        raise FrontMatterError(f"YAML error: {problem}", line, _yaml_hint(problem)) from None
    except RecursionError:
        raise FrontMatterError(
            "YAML error: the values are nested too deeply", 2, "front-matter values are text or lists of text"
        ) from None
    if data is None:
        raise FrontMatterError("the front matter is empty", 1, "add the fields title, date, meeting_type and themes")
    if not isinstance(data, dict):
        kinds: dict[type, str] = {list: "a list", str: "a line of text"}
        kind = kinds.get(type(data), type(data).__name__)
        raise FrontMatterError(
            f"the front matter must be key: value lines, not {kind}", 2, "write one field per line, e.g. title: …"
        )
    key_lines = {}
    for key_node, _value in node.value:
        key_lines[str(key_node.value)] = key_node.start_mark.line + 2
    return FrontMatter(data=data, key_lines=key_lines, body=text[end_stop + 1 :], body_line=end_line + 2)
