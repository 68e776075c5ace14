"""A big speech body in pieces that Markdown parses alike apart and together (#15, "a 50 MB speech").

Python-Markdown holds a whole document several times over (its lines, its tree, the HTML), and nh3
and ``blocks.number_blocks`` then parse all of that HTML at once: together about ten times a file's
size. A body longer than ``SPLIT_CHARS`` characters is therefore cut into pieces of about
``PIECE_CHARS``, each parsed on its own (``markup.Renderer``), and their HTML and lines are put
together. That gives what parsing the whole body gives, because a cut is made only where no Markdown
construct can reach across it:

* only at empty lines between two lines that begin plainly: not indented, and not with a mark that
  starts or goes on with a list, quote, definition, table, code, HTML, thematic break or setext
  underline (``_NOT_PLAIN``), nor only of whitespace, and not before blocks with a definition line
  (": …", which would join a definition list before it). The block before the cut ends there whatever follows, the
  block after begins there whatever came before (no list or quote that goes on, no lazy
  continuation, no code block taking the blank lines);
* never between the first and the last fence line (``` or ~~~): a fenced code block may hold
  empty lines;
* nowhere (one piece) when the body has raw HTML, footnotes or abbreviations, whose effect reaches
  beyond their block: an unclosed ``<div>`` holds the rest of the body, footnotes are numbered and
  listed for the whole body, an abbreviation is marked everywhere.

Reference links (``[text][id]``, ``[id]: url`` anywhere) are the one thing of the whole body that
pieces share: ``markup.Renderer`` collects every piece's definitions first and gives them to each.
"""

from __future__ import annotations

import re

SPLIT_CHARS = 1_000_000  # a body longer than this (characters) is parsed in pieces …
PIECE_CHARS = 250_000  # … of about this many characters

_HTML = re.compile(r"<(?:[A-Za-z][A-Za-z0-9-]*(?=[\s/>])|[/!?])")  # what may be a tag, a comment, a declaration
_ABBREVIATION = re.compile(r"^[ ]{0,3}\*\[", re.M)
_DEFINITION = re.compile(r"^[ \t]*:", re.M)
_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})", re.M)
# A line beginning so may belong to, or go on with, the block on the other side of an empty line
# (indentation is spaces and tabs only: a full-width space is text to Markdown).
_NOT_PLAIN = re.compile(r"[ \t>:|`~<*+=_\-\[!{]|\d{1,9}[.)]")


def shared_by_all(body: str) -> bool:
    """Whether ``body`` has raw HTML, footnotes or abbreviations (then it is parsed as one piece)."""
    if "[^" in body or ("*[" in body and _ABBREVIATION.search(body)):
        return True
    return "<" in body and _HTML.search(body) is not None


def has_definitions(body: str) -> bool:
    """Whether ``body`` may define reference links (``[id]: url``)."""
    return "]:" in body


def _plain(line: str) -> bool:
    # A line of only whitespace (a full-width space, too) is not a block to Markdown: what lies
    # on either side of it may be one list, or a term and its definition.
    return bool(line.strip()) and not _NOT_PLAIN.match(line)


def _defines(body: str, start: int) -> bool:
    """Whether one of the two blocks from ``start`` on (blocks of whitespace not counted) has a
    definition line (": …"): the definitions would join a definition list before ``start``, the
    first block as their terms when the second begins with them."""
    seen = 0
    while seen < 2 and start < len(body):
        end = body.find("\n\n", start)
        end = end if end >= 0 else len(body)
        if _DEFINITION.search(body, start, end):
            return True
        seen += 1 if body[start:end].strip() else 0
        start = end + 2
    return False


def split(body: str) -> list[str]:
    """``body`` in pieces (see above); ``[body]`` when it is short or cannot be cut."""
    if len(body) <= SPLIT_CHARS or shared_by_all(body):
        return [body]
    fences = [m.start() for m in _FENCE.finditer(body)]
    no_cut = (fences[0], fences[-1] + 1) if fences else (0, 0)
    pieces: list[str] = []
    start = 0
    at = PIECE_CHARS
    while True:
        blank = body.find("\n\n", at)
        if blank < 0:
            break
        after = blank + 2
        while after < len(body) and body[after] == "\n":
            after += 1
        line_end = body.find("\n", after)
        before = body[body.rfind("\n", 0, blank) + 1 : blank]
        following = body[after : line_end if line_end >= 0 else len(body)]
        if no_cut[0] <= blank < no_cut[1] or not (_plain(before) and _plain(following)) or _defines(body, after):
            at = blank + 1
            continue
        pieces.append(body[start:blank])
        start = after
        at = after + PIECE_CHARS
    pieces.append(body[start:])
    return pieces
