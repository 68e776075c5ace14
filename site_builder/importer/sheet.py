"""The metadata sheet of ``site-builder import --metadata FILE.csv``: a ``file`` column and columns
named like front-matter fields, one row per imported file; and ``split_list`` for list values."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import schema
from ..dates import DateError, parse_date
from ..errors import UsageError
from ..loader import display_path
from ..textio import EncodingProblem, decode_any

SHEET_FIELDS = (
    "title",
    "date",
    "meeting_type",
    "themes",
    "speaker",
    "organization",
    "location",
    "summary",
    "source",
    "tags",
    "slug",
)


class SheetError(UsageError):
    """The metadata sheet cannot be used (exit 2); the message names the row and column."""


def split_list(value: str) -> list[str]:
    """``a; b``, ``a、b``, ``a，b`` → [a, b] (themes and tags in a sheet or an option)."""
    return list(dict.fromkeys(t for t in (schema.clean_text(p) for p in re.split(r"[;；、,，]", value)) if t))


@dataclass
class Sheet:
    rows: dict[str, dict] = field(default_factory=dict)
    """Key (path as written in the sheet, normalised) → field values."""
    path: Path | None = None
    used: set[str] = field(default_factory=set)

    def lookup(self, file: Path, roots: list[Path]) -> dict | None:
        """The row for ``file``: by its path (as given, relative to the sheet or to an imported
        folder) or, when that is unique, by its file name."""
        keys = [os.path.normpath(str(file))]
        for base in [self.path.parent if self.path else None, Path.cwd(), *roots]:
            if base is not None:
                try:
                    keys.append(os.path.normpath(os.path.relpath(file.resolve(), base.resolve())))
                except ValueError:
                    pass
        for key in keys:
            if key in self.rows:
                self.used.add(key)
                return self.rows[key]
        by_name = [k for k in self.rows if os.path.basename(k) == file.name]
        if len(by_name) == 1:
            self.used.add(by_name[0])
            return self.rows[by_name[0]]
        return None


def read_sheet(path: Path) -> Sheet:
    """Read ``--metadata FILE.csv``: a ``file`` column and columns named like front-matter fields."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SheetError(
            f"{display_path(path)}: 无法读取元数据表 (cannot read the metadata sheet): {err.strerror or err}"
        ) from None
    try:
        text, _encoding = decode_any(data)
    except (EncodingProblem, UnicodeDecodeError):
        raise SheetError(
            f"{display_path(path)}: 元数据表不是 UTF-8 文本 (the sheet is not UTF-8 text); save it as 'CSV UTF-8'"
        ) from None
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in (reader.fieldnames or [])]
    if "file" not in columns:
        raise SheetError(
            f"{display_path(path)}:1: 元数据表缺少 file 列 (the sheet needs a 'file' column holding "
            f"each file's name or path); columns found: {', '.join(columns) or 'none'}"
        )
    unknown = [c for c in columns if c and c != "file" and c not in SHEET_FIELDS]
    if unknown:
        raise SheetError(
            f"{display_path(path)}:1: 未知的列 (unknown columns) {', '.join(unknown)}; "
            f"columns may be: file, {', '.join(SHEET_FIELDS)}"
        )
    sheet = Sheet(path=path)
    for line_no, row in enumerate(reader, 2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        name = row.pop("file", "")
        if not name:
            continue
        values: dict = {}
        for key, value in row.items():
            if not value:
                continue
            if key in ("themes", "tags"):
                values[key] = split_list(value)
            elif key == "date":
                try:
                    values[key] = parse_date(value)
                except DateError as err:
                    raise SheetError(
                        f"{display_path(path)}:{line_no}: date: {err}; "
                        "write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日"
                    ) from None
            elif key == "slug" and (why := schema.slug_problem(value)):
                raise SheetError(f"{display_path(path)}:{line_no}: slug: {why}")
            else:
                values[key] = schema.clean_text(value)
        key = os.path.normpath(name)
        if key in sheet.rows:
            raise SheetError(f"{display_path(path)}:{line_no}: file {name!r} 出现两次 (is listed twice)")
        sheet.rows[key] = values
    return sheet
