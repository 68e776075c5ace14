#!/usr/bin/env python3
"""Import a folder of speech texts with the real CLI and measure the result against a sheet.

    .venv/bin/python bench/bench_import.py FOLDER --expected SHEET.csv [--metadata SHEET.csv] [--keep DIR] [--json]

Runs, in a temporary project folder (``content/``, no pyproject.toml; nothing is written into
the repository)::

    python -m site_builder import FOLDER --content <tmp>/content --report <tmp>/report.csv
    python -m site_builder check --content <tmp>/content

and prints how many files were written and pass ``check``, how often the title, year, full date,
speaker and meeting type are right, which files lost text, empty headings and paragraphs over
3,000 characters, then one line per mismatch (file, field, expected, got). With ``--metadata``
the import is run a second time with the sheet and the bench counts the files written and passing
``check``. The exit status is always 0: this is a measurement (``--json`` for the numbers).

The expected sheet (UTF-8, header row): ``file,title,date,speaker,organization,location,
meeting_type,notes``; ``file`` is the path relative to FOLDER (or just the file name); ``date`` is
``2023-06-02``, ``2023-06`` or ``2023``, empty when the text states none; an empty ``title`` means
the text has none; ``title`` may list acceptable alternatives separated by ``|``.

Rules (also in bench/README.md):

* title acceptable — titles compared after NFKC and removing whitespace: ``exact``; or
  ``contained`` (the expected title inside the found one with at most 6 extra characters); or
  ``ratio`` (difflib ratio ≥ 0.9). For a file with no title, ``not-from-text``: the title given is
  not a line of the text (its source is not ``text:N``) or it is marked for review.
* year / full date right — the front matter's date against the sheet (full date only where the
  sheet has ``YYYY-MM-DD``); speaker right where the sheet names one (spaces ignored); meeting
  type right where the sheet gives one.
* losing text — every non-whitespace character of the source (decoded as the importer decodes it;
  invisible format characters such as U+200B and U+FEFF are ignored) must be found, as a
  multiset, in the Markdown body (without ``#`` heading marks and backslash escapes), the
  front-matter values, or the lines the report lists for that file as ``dropped`` (or as
  ``moved`` to the front matter, an optional column in the same ``N: text | …`` form).
* empty heading — a ``#`` line with no text, or only a section number (``一、``, ``（一）``, ``1.``,
  ``（1）``).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: The issue's thresholds (issue #11, "Done when").
THRESHOLDS = {
    "written_pct": 75.0,  # written and passing check, of all files
    "title_pct": 90.0,
    "year_pct": 97.0,
    "full_date_pct": 90.0,
    "speaker_pct": 80.0,
}
MAX_PARAGRAPH = 3000
TITLE_EXTRA = 6
TITLE_RATIO = 0.9

# ------------------------------------------------------------------------------------------ running


CLI: list[str] = []  # set by --cli; empty: this checkout's CLI


def cli_command() -> list[str]:
    """The CLI of this checkout, run by the same interpreter (``python -m site_builder``)."""
    return CLI or [sys.executable, "-m", "site_builder"]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env["NO_COLOR"] = "1"
    return env


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            cli_command() + args,
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as err:
        return subprocess.CompletedProcess(err.cmd, 124, err.stdout or "", (err.stderr or "") + "\n[bench] timed out")


def read_sheet(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]


def stage_sources(folder: Path, exclude: set[Path], dest: Path) -> Path:
    """The folder to import: FOLDER itself, or a copy without the sheets when they live inside it."""
    inside = [p for p in exclude if folder in p.parents]
    if not inside:
        return folder
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.resolve() not in exclude:
            target = dest / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return dest


def import_folder(src: Path, root: Path, content: Path, report: Path, metadata: Path | None, timeout: float) -> dict:
    """Run the import; return {"rows": {relpath: report row}, "proc": …, "seconds": …, "mode": …}."""
    args = ["import", str(src), "--content", str(content), "--report", str(report)]
    if metadata:
        args += ["--metadata", str(metadata)]
    start = time.perf_counter()
    proc = _run(args, root, timeout)
    seconds = time.perf_counter() - start
    if (
        not report.exists()
        and "--report" in (proc.stderr + proc.stdout)
        and "No such option" in (proc.stderr + proc.stdout)
    ):
        return legacy_import(src, root, content, metadata, timeout, start)
    rows: dict[str, dict] = {}
    if report.exists():
        with open(report, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                row = {k: (v or "") for k, v in row.items() if k}
                rows[_rel(row.get("file", ""), src, root)] = row
    return {"rows": rows, "proc": proc, "seconds": seconds, "mode": "report"}


def legacy_import(src: Path, root: Path, content: Path, metadata: Path | None, timeout: float, start: float) -> dict:
    """The CLI has no --report (the old importer): import file by file and see what appears."""
    rows: dict[str, dict] = {}
    last = None
    content.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        before = set(content.rglob("*.md"))
        last = _run(["import", str(path), "--content", str(content)], root, timeout)
        new = sorted(set(content.rglob("*.md")) - before)
        rel = path.relative_to(src).as_posix()
        rows[rel] = {
            "file": rel,
            "status": "written" if new else "failed",
            "target": str(new[0]) if new else "",
            "notes": (last.stdout + last.stderr).strip().splitlines()[-1:][0]
            if (last.stdout + last.stderr).strip()
            else "",
        }
    proc = last or subprocess.CompletedProcess([], 0, "", "")
    return {
        "rows": rows,
        "proc": proc,
        "seconds": time.perf_counter() - start,
        "mode": "legacy (no --report: file by file, no dropped lines"
        + (", --metadata ignored" if metadata else "")
        + ")",
    }


def _rel(name: str, src: Path, root: Path) -> str:
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    try:
        return path.resolve().relative_to(src.resolve()).as_posix()
    except ValueError:
        return Path(name).as_posix()


def _target(row: dict, root: Path) -> Path | None:
    target = (row or {}).get("target", "")
    if not target:
        return None
    path = Path(target)
    return path if path.is_absolute() else root / path


def check_failures(root: Path, content: Path, targets: list[Path], timeout: float) -> tuple[set[Path], dict]:
    """Run ``check`` once; return the targets with an error (not a warning) and the run's summary."""
    proc = _run(["check", "--content", str(content)], root, timeout)
    out = (proc.stdout + "\n" + proc.stderr).splitlines()
    failing: set[Path] = set()
    unattributed: list[str] = []
    forms = {}
    for t in targets:
        for form in {str(t), os.path.relpath(t, root), t.resolve().as_posix()}:
            forms[form] = t
    longest_first = sorted(forms, key=len, reverse=True)
    collapsed = False
    for line in out:
        if not line or line[0].isspace():
            continue
        if line.startswith("... and "):
            collapsed = True
            continue
        for form in longest_first:
            if line.startswith(form + ":"):
                rest = re.sub(r"^\d+:", "", line[len(form) + 1 :]).lstrip()
                if not rest.startswith("warning:"):
                    failing.add(forms[form])
                break
        else:
            if re.match(r"^\S.*\.md(:\d+)?: (?!warning:)", line):
                unattributed.append(line)
    if collapsed and proc.returncode != 0:  # problems beyond the 20 shown: check each file alone
        for t in targets:
            if t not in failing and _check_one(t, content, timeout):
                failing.add(t)
    return failing, {"returncode": proc.returncode, "unattributed": unattributed, "tail": "\n".join(out[-3:])}


def _check_one(target: Path, content: Path, timeout: float) -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        one = Path(tmp) / "content" / target.relative_to(content)
        one.parent.mkdir(parents=True)
        shutil.copy2(target, one)
        proc = _run(["check", "--content", str(Path(tmp) / "content")], Path(tmp), timeout)
        return proc.returncode != 0


# --------------------------------------------------------------------------------------- measuring


def decode_source(data: bytes) -> str:
    """Decode as the importer does (site_builder.textio.decode_any), else BOM / UTF-8 / GB18030 / Big5."""
    try:
        from site_builder.textio import decode_any

        return decode_any(data)[0]
    except Exception:
        pass
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    for enc in ("utf-8", "gb18030", "big5"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", "replace")


def _ignorable(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def squeeze(text: str) -> str:
    return "".join(ch for ch in text if not _ignorable(ch))


_HEADING = re.compile(r"^ {0,3}(#{1,6})(?=\s|$)(.*)$")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_NUMBER_ONLY = re.compile(
    r"^[\s#]*(?:第?[一二三四五六七八九十百〇零]+[、．.，,]?|[（(][一二三四五六七八九十百]+[）)]|"
    r"[（(]?[0-9０-９]+[）).．、]?|[（(][0-9０-９]+[）)])?\s*#*\s*$"
)


def body_plain(body: str) -> str:
    """The body as text: heading marks and backslash escapes removed."""
    lines = []
    for line in body.splitlines():
        m = _HEADING.match(line)
        if m:
            line = re.sub(r"\s#+\s*$", "", m.group(2))
        lines.append(_ESCAPE.sub(r"\1", line))
    return "\n".join(lines)


def empty_headings(body: str) -> list[str]:
    out = []
    for line in body.splitlines():
        m = _HEADING.match(line)
        if m and _NUMBER_ONLY.match(m.group(2)):
            out.append(line.strip())
    return out


def long_paragraphs(body: str) -> list[int]:
    return [len(p.strip()) for p in re.split(r"\n\s*\n", body) if len(p.strip()) > MAX_PARAGRAPH]


def _values(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _values(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _values(v)]
    return [] if value is None else [str(value)]


def dropped_texts(cell: str) -> list[str]:
    out = []
    for entry in (cell or "").split(" | "):
        m = re.match(r"^\s*\d+\s*:\s?(.*)$", entry, re.S)
        out.append(m.group(1) if m else entry)
    return out


def lost_text(source: str, body: str, data: dict, dropped: list[str]) -> tuple[int, str]:
    """(number of missing characters, first missing run with its context)."""
    have = Counter(squeeze(body_plain(body)))
    for text in _values(data) + dropped:
        have.update(squeeze(text))
    need = Counter(squeeze(source))
    missing = need - have
    if not missing:
        return 0, ""
    total = sum(missing.values())
    # Where: the first source line that is not found whole in the output and holds a missing character.
    output = squeeze(body_plain(body)) + "\x00" + "\x00".join(squeeze(t) for t in _values(data) + dropped)
    for line in source.splitlines():
        s = squeeze(line)
        for chunk in re.split(r"(?<=[。！？；])", s):
            if not chunk or chunk in output or not any(missing.get(c) for c in chunk):
                continue
            i = next(k for k, c in enumerate(chunk) if missing.get(c))
            j = i
            while j < len(chunk) and missing.get(chunk[j]):
                j += 1
            run = chunk[i:j]
            return total, f"missing {run!r} in …{chunk[max(0, i - 20) : i]}[{run}]{chunk[j : j + 20]}…"
    return total, "missing " + repr("".join(sorted(missing.elements()))[:40])


def norm_title(text: str) -> str:
    return squeeze(unicodedata.normalize("NFKC", text or ""))


def title_rule(expected: str, found: str, source: str, review: list[str]) -> str | None:
    """The rule under which ``found`` is acceptable, or None."""
    f = norm_title(found)
    if not expected:
        if not f:
            return None
        from_text = source.startswith("text")
        return "not-from-text" if (not from_text or "title" in review) and not f.endswith(("：", ":")) else None
    best = None
    for alt in expected.split("|"):
        e = norm_title(alt)
        if not e:
            continue
        if f == e:
            return "exact"
        if e in f and len(f) - len(e) <= TITLE_EXTRA:
            best = best or "contained"
        elif difflib.SequenceMatcher(None, e, f, autojunk=False).ratio() >= TITLE_RATIO:
            best = best or "ratio"
    return best


_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_CN = re.compile(r"^(\d{4})年(?:度)?(?:(\d{1,2})月(?:(\d{1,2})日)?)?$")


def iso_date(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    text = unicodedata.normalize("NFKC", str(value)).strip()
    m = _ISO.match(text) or _CN.match(text)
    if not m:
        return text
    y, mo, d = m.groups()
    return y + (f"-{int(mo):02d}" if mo else "") + (f"-{int(d):02d}" if d else "")


def _review(data: dict, row: dict) -> list[str]:
    fields = [s.strip() for s in re.split(r"[;；,，、]", row.get("review", "")) if s.strip()]
    value = data.get("review")
    fields += [s.split(":")[0].strip() for s in _values(value)] if value not in (None, True, False) else []
    return fields


def pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def measure(folder, expected, metadata=None, keep=None, timeout: float = 1800) -> dict:
    """Import ``folder`` in a scratch project and measure it against the ``expected`` sheet."""
    folder = Path(folder).resolve()
    expected = Path(expected).resolve()
    metadata = Path(metadata).resolve() if metadata else None
    sheet = read_sheet(expected)
    if keep:
        root = Path(keep).resolve()
        if root.exists() and any(root.iterdir()):
            raise SystemExit(f"--keep {root}: folder exists and is not empty")
        root.mkdir(parents=True, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="bench-import-")
        root = Path(cleanup.name)
    try:
        return _measure(folder, sheet, metadata, root, {expected} | ({metadata} if metadata else set()), timeout)
    finally:
        if cleanup:
            cleanup.cleanup()


def _measure(
    folder: Path, sheet: list[dict], metadata: Path | None, root: Path, sheets: set[Path], timeout: float
) -> dict:
    src = stage_sources(folder, sheets, root / "sources")
    content = root / "content"
    content.mkdir(parents=True, exist_ok=True)
    run = import_folder(src, root, content, root / "report.csv", None, timeout)
    rows = run["rows"]
    by_name: dict[str, list[str]] = {}
    for rel in rows:
        by_name.setdefault(Path(rel).name, []).append(rel)

    def row_for(name: str) -> dict:
        if name in rows:
            return rows[name]
        cands = by_name.get(Path(name).name, [])
        return rows[cands[0]] if len(cands) == 1 else {}

    written = {}
    for exp in sheet:
        row = row_for(exp["file"])
        t = _target(row, root)
        if row.get("status") == "written" and t and t.exists():
            written[exp["file"]] = (row, t)
    failing, check_info = check_failures(root, content, [t for _, t in written.values()], timeout)

    files, mism, losing, empty_h, long_p, not_written = [], [], [], [], [], []
    n = Counter()
    rules = Counter()
    from site_builder.frontmatter import split as fm_split

    for exp in sheet:
        name = exp["file"]
        row = row_for(name)
        rec = {"file": name, "status": row.get("status", "missing from report"), "written": name in written}
        files.append(rec)
        if name not in written:
            not_written.append(
                {"file": name, "status": rec["status"], "why": (row.get("notes") or row.get("review") or "")[:160]}
            )
            continue
        row, target = written[name]
        text = target.read_text(encoding="utf-8-sig", errors="replace")
        try:
            fm = fm_split(text)
            data, body = fm.data or {}, fm.body
        except Exception as err:  # an unreadable front matter: everything is "body"
            data, body = {}, text
            mism.append({"file": name, "field": "front matter", "expected": "readable", "got": str(err)[:80]})
        rec["passes_check"] = target not in failing
        n["passing"] += rec["passes_check"]
        review = _review(data, row)
        got_title = str(data.get("title") or "")
        rule = title_rule(exp.get("title", ""), got_title, row.get("title_source", ""), review)
        n["title_ok"] += rule is not None
        rules[rule or "wrong"] += 1
        if rule is None:
            mism.append(
                {
                    "file": name,
                    "field": "title",
                    "expected": exp.get("title", "") or "(no title in the text)",
                    "got": got_title,
                    "source": row.get("title_source", ""),
                }
            )
        got_date = iso_date(data.get("date"))
        want = exp.get("date", "")
        if want:
            n["year_n"] += 1
            n["year_ok"] += got_date[:4] == want[:4]
            if len(want) == 10:
                n["full_n"] += 1
                n["full_ok"] += got_date == want
            if got_date != want:
                mism.append(
                    {
                        "file": name,
                        "field": "date",
                        "expected": want,
                        "got": got_date,
                        "source": row.get("date_source", ""),
                    }
                )
        elif got_date:
            n["date_invented"] += 1
            mism.append(
                {
                    "file": name,
                    "field": "date",
                    "expected": "(none in the text)",
                    "got": got_date,
                    "source": row.get("date_source", ""),
                }
            )
        for field, key in (
            ("speaker", "speaker"),
            ("meeting_type", "mt"),
            ("organization", "org"),
            ("location", "loc"),
        ):
            want = squeeze(exp.get(field, ""))
            got = squeeze(str(data.get(field) or ""))
            if want:
                n[key + "_n"] += 1
                n[key + "_ok"] += want == got
            elif got and field == "speaker":
                n["speaker_invented"] += 1
            if (want or field == "speaker") and want != got:
                mism.append(
                    {
                        "file": name,
                        "field": field,
                        "expected": exp.get(field, ""),
                        "got": got,
                        "source": row.get(field + "_source", ""),
                    }
                )
        source = decode_source((src / name).read_bytes()) if (src / name).exists() else ""
        reported = dropped_texts(row.get("dropped", "")) + dropped_texts(row.get("moved", ""))
        missing, where = lost_text(source, body, data, reported) if source else (0, "")
        if missing:
            losing.append({"file": name, "missing": missing, "where": where})
        heads = empty_headings(body)
        if heads:
            empty_h.append({"file": name, "headings": heads})
        longs = long_paragraphs(body)
        if longs:
            long_p.append({"file": name, "lengths": longs})

    total, w = len(sheet), len(written)
    result = {
        "mode": run["mode"],
        "import_seconds": round(run["seconds"], 2),
        "import_exit": run["proc"].returncode,
        "import_tail": "\n".join((run["proc"].stdout + run["proc"].stderr).strip().splitlines()[-3:]),
        "check_exit": check_info["returncode"],
        "check_unattributed": check_info["unattributed"][:5],
        "files": total,
        "written": w,
        "written_pct": pct(n["passing"], total),
        "written_any_pct": pct(w, total),
        "passing": n["passing"],
        "title_ok": n["title_ok"],
        "title_n": w,
        "title_pct": pct(n["title_ok"], w),
        "title_rules": dict(rules),
        "year_ok": n["year_ok"],
        "year_n": n["year_n"],
        "year_pct": pct(n["year_ok"], n["year_n"]),
        "full_date_ok": n["full_ok"],
        "full_date_n": n["full_n"],
        "full_date_pct": pct(n["full_ok"], n["full_n"]),
        "date_invented": n["date_invented"],
        "speaker_ok": n["speaker_ok"],
        "speaker_n": n["speaker_n"],
        "speaker_pct": pct(n["speaker_ok"], n["speaker_n"]),
        "speaker_invented": n["speaker_invented"],
        "meeting_type_ok": n["mt_ok"],
        "meeting_type_n": n["mt_n"],
        "meeting_type_pct": pct(n["mt_ok"], n["mt_n"]),
        "organization_ok": n["org_ok"],
        "organization_n": n["org_n"],
        "location_ok": n["loc_ok"],
        "location_n": n["loc_n"],
        "losing_text": losing,
        "empty_headings": empty_h,
        "long_paragraphs": long_p,
        "not_written": not_written,
        "mismatches": mism,
        "per_file": files,
    }
    if metadata:
        mcontent = root / "content-metadata"
        mcontent.mkdir()
        mrun = import_folder(src, root, mcontent, root / "report-metadata.csv", metadata, timeout)
        mrows = mrun["rows"]
        mwritten = {}
        for exp in sheet:
            row = mrows.get(exp["file"]) or next(
                (r for k, r in mrows.items() if Path(k).name == Path(exp["file"]).name), {}
            )
            t = _target(row, root)
            if row.get("status") == "written" and t and t.exists():
                mwritten[exp["file"]] = t
        mfail, minfo = check_failures(root, mcontent, list(mwritten.values()), timeout)
        result["metadata"] = {
            "mode": mrun["mode"],
            "import_exit": mrun["proc"].returncode,
            "check_exit": minfo["returncode"],
            "files": total,
            "written": len(mwritten),
            "passing": sum(t not in mfail for t in mwritten.values()),
            "not_written": [e["file"] for e in sheet if e["file"] not in mwritten],
            "failing_check": sorted(f for f, t in mwritten.items() if t in mfail),
            "import_tail": "\n".join((mrun["proc"].stdout + mrun["proc"].stderr).strip().splitlines()[-3:]),
        }
    return result


# --------------------------------------------------------------------------------------- printing


def _cell(ok, n, p) -> str:
    return "n/a" if p is None else f"{ok}/{n} = {p:.1f} %"


def format_table(r: dict) -> str:
    def row(label, value, target=None, actual=None, less=False, unit=" %"):
        mark = ""
        if target is not None and actual is not None:
            good = actual <= target if less else actual >= target
            mark = ("ok   " if good else "FAIL ") + ("≤ " if less else "≥ ") + f"{target:g}" + ("" if less else unit)
        return f"  {label:<34} {value:<28} {mark}"

    rules = ", ".join(f"{k} {v}" for k, v in sorted(r["title_rules"].items(), key=lambda kv: -kv[1]))
    lines = [
        f"import: {r['mode']}; exit {r['import_exit']} in {r['import_seconds']} s; check exit {r['check_exit']}",
        "",
    ]
    lines.append(row("files", str(r["files"])))
    lines.append(row("written", _cell(r["written"], r["files"], r["written_any_pct"])))
    lines.append(
        row(
            "written and passing check",
            _cell(r["passing"], r["files"], r["written_pct"]),
            THRESHOLDS["written_pct"],
            r["written_pct"],
        )
    )
    lines.append("  of written:")
    lines.append(
        row(
            "  title acceptable",
            _cell(r["title_ok"], r["title_n"], r["title_pct"]),
            THRESHOLDS["title_pct"],
            r["title_pct"],
        )
    )
    lines.append(f"  {'':<34} ({rules})" if rules else "")
    lines.append(
        row("  year right", _cell(r["year_ok"], r["year_n"], r["year_pct"]), THRESHOLDS["year_pct"], r["year_pct"])
    )
    lines.append(
        row(
            "  full date right",
            _cell(r["full_date_ok"], r["full_date_n"], r["full_date_pct"]),
            THRESHOLDS["full_date_pct"],
            r["full_date_pct"],
        )
    )
    lines.append(row("  date where the text has none", str(r["date_invented"])))
    lines.append(
        row(
            "  speaker right",
            _cell(r["speaker_ok"], r["speaker_n"], r["speaker_pct"]),
            THRESHOLDS["speaker_pct"],
            r["speaker_pct"],
        )
    )
    lines.append(row("  speaker where there is no byline", str(r["speaker_invented"])))
    lines.append(row("  meeting type right", _cell(r["meeting_type_ok"], r["meeting_type_n"], r["meeting_type_pct"])))
    lines.append(
        row(
            "  organization right (info)",
            _cell(r["organization_ok"], r["organization_n"], pct(r["organization_ok"], r["organization_n"])),
        )
    )
    lines.append(
        row("  location right (info)", _cell(r["location_ok"], r["location_n"], pct(r["location_ok"], r["location_n"])))
    )
    lines.append(row("files losing text", str(len(r["losing_text"])), 0, len(r["losing_text"]), less=True))
    lines.append(
        row(
            "empty headings",
            str(sum(len(e["headings"]) for e in r["empty_headings"])),
            0,
            sum(len(e["headings"]) for e in r["empty_headings"]),
            less=True,
        )
    )
    lines.append(
        row(
            f"paragraphs over {MAX_PARAGRAPH:,} characters",
            str(sum(len(e["lengths"]) for e in r["long_paragraphs"])),
            0,
            sum(len(e["lengths"]) for e in r["long_paragraphs"]),
            less=True,
        )
    )
    if "metadata" in r:
        m = r["metadata"]
        lines.append(f"  with --metadata ({m['mode']}; import exit {m['import_exit']}, check exit {m['check_exit']}):")
        lines.append(row("  files written", f"{m['written']}/{m['files']}", m["files"], m["written"], unit=""))
        lines.append(row("  files passing check", f"{m['passing']}/{m['files']}", m["files"], m["passing"], unit=""))
    lines = [line for line in lines if line != ""]
    out = ["\n".join(lines)]
    if r["not_written"] and all(e["status"] == "missing from report" for e in r["not_written"]):
        out.append(f"\nnot written: all {len(r['not_written'])} files are missing from the report")
    elif r["not_written"]:
        out.append(
            "\nnot written:\n" + "\n".join(f"  {e['file']}: {e['status']}  {e['why']}" for e in r["not_written"])
        )
    if r["losing_text"]:
        out.append(
            "\nlosing text:\n"
            + "\n".join(f"  {e['file']}: {e['missing']} characters; {e['where']}" for e in r["losing_text"])
        )
    if r["empty_headings"]:
        out.append(
            "\nempty headings:\n"
            + "\n".join(f"  {e['file']}: {' / '.join(e['headings'][:5])}" for e in r["empty_headings"])
        )
    if r["long_paragraphs"]:
        out.append("\nlong paragraphs:\n" + "\n".join(f"  {e['file']}: {e['lengths']}" for e in r["long_paragraphs"]))
    if r["mismatches"]:
        w = max(len(m["file"]) for m in r["mismatches"])
        out.append(
            "\nmismatches (file, field, expected, got [source]):\n"
            + "\n".join(
                f"  {m['file']:<{w}}  {m['field']:<12} {m['expected'] or '—'}  →  {m['got'] or '—'}"
                + (f"  [{m['source']}]" if m.get("source") else "")
                for m in r["mismatches"]
            )
        )
    if "metadata" in r and (r["metadata"]["not_written"] or r["metadata"]["failing_check"]):
        m = r["metadata"]
        nw = m["not_written"] if len(m["not_written"]) < len(r["per_file"]) else ["all"]
        out.append(
            "\nwith --metadata: not written "
            + (", ".join(nw) or "—")
            + "; failing check "
            + (", ".join(m["failing_check"]) or "—")
        )
        if m["import_tail"]:
            out.append("  import said: " + m["import_tail"].replace("\n", "\n  "))
    if r["check_unattributed"]:
        out.append("\ncheck errors not tied to a written file:\n  " + "\n  ".join(r["check_unattributed"]))
    if r["written"] == 0 and r["import_tail"]:
        out.append("\nimport said:\n  " + r["import_tail"].replace("\n", "\n  "))
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("folder", type=Path, help="folder of speech texts (searched recursively by the importer)")
    ap.add_argument("--expected", type=Path, required=True, help="sheet of expected values (CSV)")
    ap.add_argument("--metadata", type=Path, help="also import with this --metadata sheet and count written/passing")
    ap.add_argument("--keep", type=Path, help="work in this (new or empty) folder and leave it for inspection")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    ap.add_argument(
        "--cli", help="command to run instead of this checkout's `python -m site_builder` (split like a shell)"
    )
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per CLI run (default 1800)")
    args = ap.parse_args(argv)
    if args.cli:
        import shlex

        CLI[:] = shlex.split(args.cli)
    try:
        result = measure(args.folder, args.expected, args.metadata, args.keep, args.timeout)
    except SystemExit:
        raise
    except Exception as err:  # a measurement never fails the caller
        print(f"bench_import: {type(err).__name__}: {err}", file=sys.stderr)
        return 0
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
