"""What the build cache of a built site holds, and what storing its bodies costs (#15).

    .venv/bin/python bench/bench_cache.py --content bench/.work/corpus-1000 --output OUT [--timing] [--json F]

Prints the state folder's parts (bytes, files, × the content's bytes): ``cache.sqlite`` split into
its tables (parsed metadata, bodies, pages), the Whoosh index (text store ``gt_*.bin``, postings
``.pst``, terms ``.trm``, the rest), the static index's state (``docs/``, ``skip/``, the manifest),
the related-speech cache. ``--timing`` stores and reads every parsed body of the cache again in a
scratch SQLite file, as the build does, once uncompressed (html and text columns, the format before
#15) and once as ``cache.pack_body`` stores them: the seconds added or saved by the compression.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from site_builder.cache import pack_body, unpack_body
from site_builder.config import load_config


def tree_bytes(path: Path, pattern: str = "*") -> tuple[int, int]:
    files = [p for p in path.rglob(pattern) if p.is_file()] if path.is_dir() else ([path] if path.is_file() else [])
    return sum(p.stat().st_size for p in files), len(files)


def sqlite_parts(db_path: Path) -> dict[str, int]:
    """Bytes of each table's columns (payload, without SQLite's page overhead)."""
    if not db_path.exists():
        return {}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    out: dict[str, int] = {}
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "parsed" in tables:
        meta, body = db.execute("SELECT total(length(meta)), total(length(body)) FROM parsed").fetchone()
        out["sqlite: parsed metadata"], out["sqlite: bodies (html + text)"] = int(meta), int(body)
    if "docs" in tables:  # the format before #15
        meta, html, text = db.execute(
            "SELECT total(length(meta)), total(length(CAST(html AS BLOB))), total(length(CAST(text AS BLOB))) FROM docs"
        ).fetchone()
        out["sqlite: parsed metadata"], out["sqlite: html"], out["sqlite: text"] = int(meta), int(html), int(text)
    out["sqlite: pages, files, kv"] = int(
        db.execute("SELECT total(length(path) + length(key) + length(coalesce(owner, ''))) FROM pages").fetchone()[0]
        + db.execute("SELECT total(length(source) + length(digest) + 16) FROM files").fetchone()[0]
    )
    db.close()
    return out


def breakdown(state: Path) -> list[tuple[str, int, int]]:
    rows = []
    for name in sorted(os.listdir(state)) if state.is_dir() else []:
        path = state / name
        if name == "whoosh":
            for label, pattern in (("gt_*.bin", "gt_*"), ("*.pst", "*.pst"), ("*.trm", "*.trm")):
                rows.append((f"whoosh/{label}", *tree_bytes(path, pattern)))
            total = tree_bytes(path)
            rows.append(
                ("whoosh/other", total[0] - sum(r[1] for r in rows[-3:]), total[1] - sum(r[2] for r in rows[-3:]))
            )
        elif name == "static" and path.is_dir():
            for sub in sorted(os.listdir(path)):
                rows.append((f"static/{sub}", *tree_bytes(path / sub)))
        else:
            rows.append((name, *tree_bytes(path)))
    return rows


def store_timing(db_path: Path) -> dict[str, float]:
    """Seconds to store and to read back every body, uncompressed vs packed, in scratch files."""
    from site_builder.cache import BuildCache

    cache = BuildCache(db_path.parent, readonly=True)
    keys = [tuple(k) for k in cache.db.execute("SELECT source, digest FROM parsed")]
    bodies = [(s, d, *cache.body(s, d)) for s, d in keys]
    cache.close()
    out: dict[str, float] = {"bodies": len(bodies)}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        for label, schema, row in (
            (
                "raw",
                "(source TEXT, digest TEXT, html TEXT, text TEXT, PRIMARY KEY (source, digest))",
                lambda s, d, h, t: (s, d, h, t),
            ),
            (
                "packed",
                "(source TEXT, digest TEXT, body BLOB, PRIMARY KEY (source, digest))",
                lambda s, d, h, t: (s, d, pack_body(h, t)),
            ),
        ):
            db = sqlite3.connect(Path(tmp) / f"{label}.sqlite")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"CREATE TABLE b {schema}")
            places = ",".join("?" * (4 if label == "raw" else 3))
            started = time.perf_counter()
            for s, d, h, t in bodies:
                db.execute(f"INSERT INTO b VALUES ({places})", row(s, d, h, t))
            db.commit()
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            out[f"{label} store s"] = time.perf_counter() - started
            started = time.perf_counter()
            for s, d, *_ in bodies:
                got = db.execute("SELECT * FROM b WHERE source=? AND digest=?", (s, d)).fetchone()
                if label == "packed":
                    unpack_body(got[2])
            out[f"{label} read s"] = time.perf_counter() - started
            db.close()
            out[f"{label} bytes"] = (Path(tmp) / f"{label}.sqlite").stat().st_size
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--content", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--timing", action="store_true", help="also time storing and reading the bodies")
    ap.add_argument("--json", help="write the numbers to this file too")
    args = ap.parse_args(argv)
    config, _ = load_config(Path.cwd(), {"content_dir": Path(args.content), "output_dir": Path(args.output)})
    state = config.state_dir
    content_bytes, content_files = tree_bytes(config.content, "*.md")
    rows = breakdown(state)
    total = sum(r[1] for r in rows)
    print(f"content: {content_bytes:,} bytes in {content_files} files; state folder {state}")
    print("| part | bytes | files | × content |\n| --- | ---: | ---: | ---: |")
    for name, size, files in rows:
        print(f"| {name} | {size:,} | {files} | {size / max(content_bytes, 1):.2f} |")
    print(f"| **total** | {total:,} | {sum(r[2] for r in rows)} | **{total / max(content_bytes, 1):.2f}** |")
    parts = sqlite_parts(state / "cache.sqlite")
    for name, size in parts.items():
        print(f"  {name}: {size:,} bytes")
    result: dict = {"content_bytes": content_bytes, "parts": rows, "total": total, "sqlite": parts}
    if args.timing:
        result["timing"] = store_timing(state / "cache.sqlite")
        print(
            "  "
            + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in result["timing"].items())
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
