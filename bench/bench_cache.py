"""What the build cache of a built site holds, and what storing its bodies costs (#15).

    .venv/bin/python bench/bench_cache.py --content bench/.work/corpus-1000 --output OUT [--timing] [--json F]
    PYTHONPATH=TREE .venv/bin/python -P bench/bench_cache.py --keys-of ROWS --scratch DIR
    PYTHONPATH=TREE .venv/bin/python -P bench/bench_cache.py --found ENTRIES --scratch DIR

Prints the state folder's parts (bytes, files, × the content's bytes): ``cache.sqlite`` split into
its tables (parsed metadata, bodies, pages), the Whoosh index (text store ``gt_*.bin``, postings
``.pst``, terms ``.trm``, the rest), the reuse state by file kind, the static index's state
(``docs/``, ``skip/``, the manifest), the related-speech cache. ``--timing`` stores and reads every
parsed body of the cache again in a scratch SQLite file, as the build does, uncompressed (html and
text columns, the format before #15), deflated as UTF-8 at level 4 (the format before the UTF-16
one) and as ``cache.pack_body`` stores them: the bytes, and the seconds added or saved.

The reuse stage's parts on synthetic data of any size, with the code on PYTHONPATH (a snapshot),
each in this process (run each in a fresh one: its mapped pages are those of a first step):
``--keys-of ROWS`` writes a memory-mapped anchors' base of ROWS rows (owners: ROWS / 1,200, as
generated speeches have), then times ``Layers.keys_of`` of one owner, by the keys by owner and by
scanning the owner column (``layers.BY_OWNER_ROWS``); ``--found ENTRIES`` times the passages found
(``found.Found``): a base of ENTRIES entries written, then a step read from it (1,200 entries
dropped and added, the passages made, the state dumped), best of 5, and the base's bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import zlib
from pathlib import Path

if not os.environ.get("PYTHONPATH"):  # (with PYTHONPATH=TREE: that code, a snapshot's)
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
    idle = not Path(f"{db_path}-wal").exists()  # (read as immutable: no -wal, -shm files made beside it)
    db = sqlite3.connect(f"file:{db_path}?mode=ro{'&immutable=1' if idle else ''}", uri=True)
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
        elif name == "reuse" and path.is_dir():
            kinds: dict[str, list[int]] = {}
            for f in sorted(path.iterdir()):
                kind = f.name.split("-")[0] + ("." + ".".join(f.name.split(".")[1:]) if "-" in f.name else "")
                size = kinds.setdefault(f"reuse/{kind}", [0, 0])
                size[0] += f.stat().st_size
                size[1] += 1
            rows.extend((k, v[0], v[1]) for k, v in kinds.items())
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
                "utf8-level4",
                "(source TEXT, digest TEXT, body BLOB, PRIMARY KEY (source, digest))",
                lambda s, d, h, t: (s, d, _pack_utf8(h, t)),
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
            started, cpu = time.perf_counter(), time.process_time()
            for s, d, h, t in bodies:
                db.execute(f"INSERT INTO b VALUES ({places})", row(s, d, h, t))
            db.commit()
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            out[f"{label} store s"] = time.perf_counter() - started
            out[f"{label} store CPU s"] = time.process_time() - cpu
            started, cpu = time.perf_counter(), time.process_time()
            for s, d, *_ in bodies:
                got = db.execute("SELECT * FROM b WHERE source=? AND digest=?", (s, d)).fetchone()
                if label == "packed":
                    unpack_body(got[2])
                elif label != "raw":
                    _unpack_utf8(got[2])
            out[f"{label} read s"] = time.perf_counter() - started
            out[f"{label} read CPU s"] = time.process_time() - cpu
            db.close()
            out[f"{label} bytes"] = (Path(tmp) / f"{label}.sqlite").stat().st_size
    return out


def _pack_utf8(html: str, text: str) -> bytes:
    """The stored body before the UTF-16 one (9e49e5b–b3b2fdf): len(text) in 4 bytes, deflate(text + html) as UTF-8."""
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw).to_bytes(4, "little") + zlib.compress(raw + html.encode("utf-8", "surrogatepass"), 4)


def _unpack_utf8(blob: bytes) -> tuple[str, str]:
    n = int.from_bytes(blob[:4], "little")
    raw = zlib.decompress(blob[4:])
    return raw[n:].decode("utf-8", "surrogatepass"), raw[:n].decode("utf-8", "surrogatepass")


def keys_of_timing(rows: int, scratch: Path) -> dict[str, float]:
    """``Layers.keys_of`` of one owner on a memory-mapped anchors' base of ``rows`` rows: by the
    keys by owner (written here) and by scanning the owner column, each in a fresh process (as a
    build opens the base: its pages mapped in by the step)."""
    import subprocess

    import numpy as np

    from site_builder.reuse import layers

    rng = np.random.default_rng(1)
    owners = max(rows // 1200, 1)
    scratch.mkdir(parents=True, exist_ok=True)
    name = "anchors-bench"
    np.save(scratch / f"{name}.key.npy", np.sort(rng.integers(0, 2**32, rows, dtype=np.uint64).astype(np.uint32)))
    wide = np.uint16 if owners < 65536 else np.uint32
    np.save(scratch / f"{name}.owner.npy", rng.integers(0, owners, rows).astype(wide))
    np.save(scratch / f"{name}.pos.npy", rng.integers(0, 60000, rows).astype(np.uint16))
    base = layers.Layers("anchors", scratch, {"file": name}, np.uint32, indexed=False).base
    assert base is not None
    started = time.process_time()
    layers.write_by_owner(scratch, name, base)
    out: dict = {"rows": rows, "owners": owners, "write_by_owner s": time.process_time() - started}
    for label in ("by owner", "scan"):
        got = subprocess.run(
            [
                sys.executable,
                "-P",
                __file__,
                "--keys-of-step",
                label,
                "--scratch",
                str(scratch),
                "--keys-of",
                str(owners),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        out[f"{label} s"], out[f"{label} keys"] = float(got[0]), int(got[1])
    for f in scratch.glob(f"{name}.*"):
        f.unlink()
    return out


def _keys_of_step(label: str, scratch: Path, owners: int) -> None:
    """(--keys-of-step) One keys_of on the base in ``scratch``, printed: CPU seconds, keys."""
    import numpy as np

    from site_builder.reuse import layers, prints  # noqa: F401  (imported by the stage before)

    table = layers.Layers("anchors", scratch, {"file": "anchors-bench"}, np.uint32, indexed=label == "by owner")
    assert (table.by_owner is not None) == (label == "by owner")
    started = time.process_time()
    keys = table.keys_of(np.array([owners // 2], dtype=np.uint32))
    print(time.process_time() - started, len(keys))


def found_timing(entries: int, scratch: Path) -> dict[str, float]:
    """A base of ``entries`` passages found written, then a step read from it, best of 5."""
    import pickle
    import random
    import shutil

    import numpy as np

    from site_builder.reuse.found import Found

    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    rng = random.Random(1)

    def cjk(n: int) -> str:
        return "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(n))

    folds = [cjk(rng.randrange(30, 120)) for _ in range(max(entries * 23 // 50, 1))]
    sources = [f"{2000 + i % 30}/在某会议上的讲话-{i:05}.md" for i in range(max(entries // 5, 2))]
    made = []
    for _ in range(entries):
        f = folds[rng.randrange(len(folds))]
        places = {(sources[rng.randrange(len(sources))], rng.randrange(1, 300)) for _ in range(rng.randrange(2, 9))}
        made.append((rng.randrange(2**32), f, f.replace(",", "，"), tuple(sorted(places))))
    made.sort()
    first = Found(None, scratch)
    for e in made:
        first.add(*e)
    started = time.process_time()
    stored = pickle.dumps(first.dump())
    out = {"entries": entries, "base written s": time.process_time() - started}
    out["base bytes"] = sum(p.stat().st_size for p in scratch.glob("found-*.pickle"))
    reads, steps = [], []
    for _ in range(5):
        started = time.process_time()
        found = Found(pickle.loads(stored), scratch)
        reads.append(time.process_time() - started)
        found.drop(np.array(sorted({made[rng.randrange(entries)][0] for _ in range(1200)}), dtype=np.uint32))
        for j in range(1200):
            g = folds[rng.randrange(len(folds))]
            found.add(
                rng.randrange(2**32), g, g, ((sources[j % len(sources)], 1), (sources[(j + 1) % len(sources)], 2))
            )
        out["passages"] = len(found.passages())
        found.dump()
        steps.append(time.process_time() - started)
    out["base read s"], out["step s"] = min(reads), min(steps)
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--content")
    ap.add_argument("--output")
    ap.add_argument("--timing", action="store_true", help="also time storing and reading the bodies")
    ap.add_argument("--json", help="write the numbers to this file too")
    ap.add_argument("--keys-of", type=int, metavar="ROWS", help="time Layers.keys_of on a synthetic base")
    ap.add_argument("--found", type=int, metavar="ENTRIES", help="time the passages found's base and a step")
    ap.add_argument("--scratch", type=Path, help="a folder for --keys-of / --found (emptied)")
    ap.add_argument("--keys-of-step", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.keys_of_step:
        _keys_of_step(args.keys_of_step, args.scratch, args.keys_of)
        return 0
    if args.keys_of or args.found:
        if args.scratch is None:
            ap.error("--keys-of and --found need --scratch")
        got = keys_of_timing(args.keys_of, args.scratch) if args.keys_of else found_timing(args.found, args.scratch)
        print(", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in got.items()))
        if args.json:
            Path(args.json).write_text(json.dumps(got, indent=1))
        return 0
    if not (args.content and args.output):
        ap.error("--content and --output are needed")
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
