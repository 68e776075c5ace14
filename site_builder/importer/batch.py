"""Unattended batches: files and folders in, Markdown files, a summary and a report out.

:func:`run_import` is what ``site-builder import`` does: collect the files (folders recursively),
read the metadata sheet, import each file, refuse what cannot be written (no title, no year,
``--strict`` with fields still to decide, the same text already in the archive), write the rest
without ever overwriting a file, and report — messages on one stream in order, a summary at the
end, and ``--report FILE.csv`` with one row per file.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import frontmatter
from ..config import SiteConfig
from ..dates import PartialDate
from ..duplicates import DuplicateIndex, fingerprint
from ..errors import SiteBuilderError
from ..loader import display_path, scan
from ..textio import EncodingProblem, decode_utf8
from . import boilerplate, layout
from .convert import REVIEWABLE, ImportResult, import_text
from .sheet import Sheet, SheetError, read_sheet, split_list
from .sources import SUFFIXES, Source, SourceError, read_source
from .vocabulary import Vocabulary, scan_vocabulary

REPORT_COLUMNS = (
    "file",
    "status",
    "target",
    "title",
    "title_source",
    "date",
    "date_source",
    "speaker",
    "speaker_source",
    "organization",
    "organization_source",
    "location",
    "location_source",
    "meeting_type",
    "meeting_type_source",
    "themes",
    "themes_source",
    "review",
    "dropped",
    "moved",
    "duplicates",
    "notes",
)
FIELD_LABELS = {
    "title": "标题",
    "date": "日期",
    "meeting_type": "会议类型",
    "themes": "主题",
    "speaker": "讲话人",
    "organization": "单位",
    "location": "地点",
}


# --------------------------------------------------------------------------------------------
# Collecting files
# --------------------------------------------------------------------------------------------


def collect(paths: list[Path], skip: set[Path] | frozenset[Path] = frozenset()) -> tuple[list[Path], list[str]]:
    """The files to import: files as given, folders walked recursively for SUFFIXES (sorted,
    hidden names skipped). Returns (files, messages for paths that do not exist)."""
    files: list[Path] = []
    missing: list[str] = []
    for path in paths:
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    candidate = Path(dirpath) / name
                    if not name.startswith(".") and name.lower().endswith(SUFFIXES) and candidate.resolve() not in skip:
                        files.append(candidate)
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            missing.append(f"{display_path(path)}: 文件不存在 (no such file or folder)")
    return list(dict.fromkeys(files)), missing


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------


@dataclass
class Options:
    content: Path
    dry_run: bool = False
    strict: bool = False
    verbose: bool = False
    given: dict = field(default_factory=dict)
    """Values from the command line (apply to every file)."""
    sheet: Sheet | None = None
    report: Path | None = None
    today: _dt.date | None = None


@dataclass
class Outcome:
    file: Path
    status: str = "failed"
    """written, dry-run, refused, failed or exists."""
    target: Path | None = None
    result: ImportResult | None = None
    reason: str = ""
    duplicates: list[str] = field(default_factory=list)


def _existing_fingerprints(content: Path) -> DuplicateIndex:
    index = DuplicateIndex()
    for f in scan(content)[0] if content.is_dir() else []:
        try:
            body = frontmatter.split(decode_utf8(Path(f.path).read_bytes())).body
        except (OSError, EncodingProblem, frontmatter.FrontMatterError):
            continue
        index.add(display_path(Path(f.path)), fingerprint(body))
    return index


def _plain(result: ImportResult) -> str:
    return result.body


def run_import(paths: list[Path], config: SiteConfig, options: Options, echo: Callable[[str], None]) -> int:
    """Import ``paths``; print on ``echo``; return the exit code (0 all written, 1 otherwise)."""
    skip = {p.resolve() for p in (options.report, options.sheet.path if options.sheet else None) if p}
    files, missing = collect(paths, skip)
    for message in missing:
        echo(f"错误 (error): {message}")
    if not files and not missing:
        echo("没有可导入的文件 (no files to import): folders are searched for " + " ".join(SUFFIXES))
    vocab = scan_vocabulary(options.content, config)
    existing = _existing_fingerprints(options.content)
    batch = DuplicateIndex()
    roots = [p for p in paths if p.is_dir()]

    # First pass: read every file (a file that cannot be read is reported in its turn).
    sources: dict[Path, Source | SourceError] = {}
    for file in files:
        try:
            sources[file] = read_source(file)
        except SourceError as err:
            sources[file] = err
    repeated = boilerplate.repeated_lines(
        {str(f): [x.text for x in layout.recover(s.text)[0]] for f, s in sources.items() if isinstance(s, Source)}
    )

    outcomes: list[Outcome] = []
    planned: set[Path] = set()
    for number, file in enumerate(files, 1):
        echo(f"[{number}/{len(files)}] {display_path(file)}")
        source = sources[file]
        if isinstance(source, SourceError):
            outcome = Outcome(file, "failed", reason=str(source))
            echo(f"  未导入 (not imported): {source}")
            outcomes.append(outcome)
            continue
        outcome = _import_one(file, source, config, vocab, options, roots, existing, batch, planned, repeated, echo)
        outcomes.append(outcome)
    if options.sheet is not None:
        unused = [k for k in options.sheet.rows if k not in options.sheet.used]
        for key in unused:
            echo(f"注意 (note): 元数据表中的 {key} 没有对应的文件 (no file imported matches this row of the sheet)")
    _summary(outcomes, len(missing), options, echo)
    if options.report is not None:
        write_report(options.report, outcomes)
        echo(f"报告 (report): {display_path(options.report)}")
    bad = missing or any(o.status in ("failed", "refused", "exists") for o in outcomes)
    return 1 if bad else 0


def _import_one(
    file: Path,
    source: Source,
    config: SiteConfig,
    vocab: Vocabulary,
    options: Options,
    roots: list[Path],
    existing: DuplicateIndex,
    batch: DuplicateIndex,
    planned: set[Path],
    repeated: set[str],
    echo: Callable[[str], None],
) -> Outcome:
    result = _convert(file, source, config, vocab, options, roots, repeated)
    outcome = Outcome(file, result=result)
    print_ = fingerprint(result.body)
    outcome.duplicates = [f"{m.name} ({m.similarity:.0%})" for m in existing.find(print_) + batch.find(print_)]
    _describe(result, options.verbose, echo)
    if outcome.duplicates:
        echo(
            "  重复 (duplicate): 与 "
            + "、".join(outcome.duplicates)
            + " 的文本相同或几乎相同 (same or nearly the same text)"
        )
    reason = _refusal(result, options)
    if reason:
        return _refuse(outcome, reason, echo)
    same = [m for m in existing.find(print_, 0.999)]
    if same:
        return _refuse(outcome, f"档案中已有这篇讲话 (already in the archive): {same[0].name}", echo, "exists")
    rel = result.relative_path()
    assert rel is not None  # _refusal: a result without a year is refused
    target = _free_target(options.content / rel, planned)
    if target != options.content / rel:
        result.notes.append(f"{display_path(options.content / rel)} 已存在 (exists): 写为 {target.name}")
    outcome.target = target
    batch.add(display_path(file), print_)
    return _write(outcome, target, options, planned, echo)


def _convert(
    file: Path,
    source: Source,
    config: SiteConfig,
    vocab: Vocabulary,
    options: Options,
    roots: list[Path],
    repeated: set[str],
) -> ImportResult:
    """``import_text`` on one file, with the values of the options and the metadata sheet, and
    notes for the lines repeated in many files of the batch."""
    row = options.sheet.lookup(file, roots) if options.sheet is not None else None
    given = dict(options.given)
    given_source = {k: "option" for k in given}
    for key, value in (row or {}).items():
        if key not in given:
            given[key] = value
            given_source[key] = "sheet"
    result = import_text(
        source.text,
        file.name,
        config,
        vocab,
        given=given,
        given_source=given_source,
        headings_hint=source.headings,
        source_title=source.title,
        today=options.today,
    )
    result.notes = list(source.notes) + result.notes
    for line in layout.recover(source.text)[0]:
        if line.text in repeated and not any(n == line.n for n, _, _ in result.dropped):
            result.notes.append(
                f"第 {line.n} 行在本批许多文件中重复出现，可能是来源的固定文字 "
                f"(line repeated in many files of the batch: likely boilerplate): {line.text[:60]}"
            )
    return result


def _refusal(result: ImportResult, options: Options) -> str | None:
    """Why ``result`` is not written (no title, no year, fields guessed with --strict, fields
    missing), or None."""
    if "title" not in result.fields or not result.fields.get("title"):
        return "没有标题 (no title): 正文里找不到标题；请在 --metadata 表中给出 title，或用 --title"
    if result.year is None:
        return (
            "没有年份 (no year): 正文和文件名都没有日期；请在 --metadata 表中给出 date，"
            "或用 --date 2020-03-05（只知年份时 --date 2020）"
        )
    if options.strict and (result.review or result.missing):
        return "--strict: 以下字段是推测的，需要人工确定 (fields guessed, decide them first): " + ", ".join(
            result.review + result.missing
        )
    if result.missing:
        return "缺少必填字段 (required fields missing): " + ", ".join(result.missing)
    return None


def _write(
    outcome: Outcome, target: Path, options: Options, planned: set[Path], echo: Callable[[str], None]
) -> Outcome:
    """Write the speech of ``outcome`` to ``target`` (never over a file), or say it would."""
    assert outcome.result is not None
    if options.dry_run:
        outcome.status = "dry-run"
        echo(f"  将写入 (would write) {display_path(target)}")
        planned.add(target)
        return outcome
    try:
        write_new(target, outcome.result.markdown)
    except FileExistsError:
        return _refuse(
            outcome, f"{display_path(target)} 已存在 (already exists; import never overwrites)", echo, "exists"
        )
    except OSError as err:
        return _refuse(
            outcome, f"无法写入 (cannot write) {display_path(target)}: {err.strerror or err}", echo, "failed"
        )
    outcome.status = "written"
    planned.add(target)
    echo(f"  已写入 (wrote) {display_path(target)}")
    return outcome


def _refuse(outcome: Outcome, reason: str, echo: Callable[[str], None], status: str = "refused") -> Outcome:
    outcome.status, outcome.reason = status, reason
    echo(f"  未写入 (not written): {reason}")
    return outcome


def _free_target(target: Path, planned: set[Path]) -> Path:
    """``target``, or ``<slug>-2.md``, ``-3`` … when a file (or one planned in this run) has that name."""
    candidate, n = target, 1
    while candidate.exists() or candidate in planned:
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    return candidate


def write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``; FileExistsError if it is already there (never overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def format_value(value: object) -> str:
    if isinstance(value, PartialDate):
        return value.iso()
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    return str(value)


def _describe(result: ImportResult, verbose: bool, echo: Callable[[str], None]) -> None:
    title = result.fields.get("title")
    date = result.fields.get("date")
    echo(
        f"  {format_value(title) if title else '（无标题）'}  {date.chinese() if isinstance(date, PartialDate) else '（无日期）'}"
    )
    if verbose:
        for key in REVIEWABLE:
            value = result.sources.get(key)
            if value is not None:
                echo(f"    {key:<13} {format_value(value.value)}  ← {value.source}: {value.how}")
        if result.headings:
            echo("    headings      " + ", ".join(f"{n} × {m}" for m, n in sorted(result.headings.items())))
    for n, text, reason in result.dropped:
        echo(f"  删除 (dropped) 第 {n} 行 [{reason}]: {text[:80]}")
    if result.review:
        echo(
            "  待核对 (awaiting review): "
            + ", ".join(f"{k}={format_value(result.fields.get(k))}" for k in result.review)
        )
    for note in result.notes:
        echo(f"  注意 (note): {note}")


def _summary(outcomes: list[Outcome], missing: int, options: Options, echo: Callable[[str], None]) -> None:
    written = [o for o in outcomes if o.status in ("written", "dry-run")]
    review = Counter(k for o in written for k in (o.result.review if o.result else []))
    refused = Counter(o.reason.split(":")[0] for o in outcomes if o.status not in ("written", "dry-run"))
    verb = "将写入 (would write)" if options.dry_run else "写入 (written)"
    echo("")
    echo(
        f"共 {len(outcomes) + missing} 个文件 (files): {verb} {len(written)}，"
        f"未写入 (not written) {len(outcomes) + missing - len(written)}"
    )
    if review:
        echo(
            "  待核对 (awaiting review, by field): "
            + "，".join(f"{FIELD_LABELS.get(k, k)} {k} {n}" for k, n in review.most_common())
        )
    for reason, n in refused.most_common():
        echo(f"  未写入 {n}: {reason}")
    dups = sum(1 for o in outcomes if o.duplicates)
    if dups:
        echo(f"  重复 (duplicates): {dups} 个文件与其他文件或已有讲话的文本相同或几乎相同")
    if written and not options.dry_run:
        echo("下一步 (next): site-builder check 列出待核对的讲话；确认后删除其 review 行")


def _entries(items: list[tuple]) -> str:
    return " | ".join(f"{item[0]}: {item[1]}" for item in items)


def write_report(path: Path, outcomes: list[Outcome]) -> None:
    """One row per file: each field and where it came from, dropped and moved lines, duplicates."""
    rows = []
    for o in outcomes:
        r = o.result
        row = {
            "file": str(o.file),
            "status": o.status,
            "target": display_path(o.target) if o.target else "",
            "duplicates": "; ".join(o.duplicates),
        }
        notes = ([o.reason] if o.reason else []) + (r.notes if r else [])
        row["notes"] = " | ".join(notes)
        if r is not None:
            for key in ("title", "date", "speaker", "organization", "location", "meeting_type", "themes"):
                value = r.sources.get(key)
                row[key] = (
                    format_value(value.value).replace("、", ";")
                    if key == "themes" and value
                    else (format_value(value.value) if value else "")
                )
                row[f"{key}_source"] = value.source if value else ""
            row["review"] = ";".join(r.review)
            row["dropped"] = _entries(r.dropped)
            row["moved"] = _entries(r.moved)
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


__all__ = [
    "Options",
    "Sheet",
    "SheetError",
    "collect",
    "read_sheet",
    "run_import",
    "write_report",
    "split_list",
    "SiteBuilderError",
]
