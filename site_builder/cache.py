"""The build cache: a SQLite file in the state folder beside output/ (safe to delete).

It remembers, per source file, its stat and digest; per (source, digest) the parsed speech
(metadata, HTML, plain text, problems); per output page, the key of everything the page was
rendered from. A build re-parses only files whose bytes changed and re-renders only pages
whose key changed, which is why an incremental build equals a clean one.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (source TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, digest TEXT);
CREATE TABLE IF NOT EXISTS docs (source TEXT, digest TEXT, meta BLOB, html TEXT, text TEXT,
                                 PRIMARY KEY (source, digest));
CREATE TABLE IF NOT EXISTS pages (path TEXT PRIMARY KEY, key TEXT, owner TEXT);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
"""


class BuildCache:
    def __init__(self, state_dir: Path, readonly: bool = False):
        """``readonly``: read what an earlier build stored, never write (``check``, render workers)."""
        self.path = state_dir / "cache.sqlite"
        self.readonly = readonly
        self._lock = threading.Lock()
        if readonly:
            # No build has it open (no -wal file): read it as immutable, which creates no
            # -wal/-shm files beside it; otherwise a plain read-only connection.
            idle = not Path(f"{self.path}-wal").exists()
            mode = "ro&immutable=1" if idle else "ro"
            # check_same_thread=False: the indexers read bodies from their threads (body() locks).
            self.db = (
                sqlite3.connect(f"file:{self.path}?mode={mode}", uri=True, check_same_thread=False)
                if self.path.exists()
                else sqlite3.connect(":memory:", check_same_thread=False)
            )
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        if readonly:
            try:
                self.db.execute("SELECT 1 FROM docs LIMIT 1")
            except sqlite3.DatabaseError:  # no cache yet, or not ours: an empty one in memory
                self.db.close()
                self.db = sqlite3.connect(":memory:", check_same_thread=False)
                self.db.executescript(SCHEMA)
            return
        try:
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError:
            # A corrupt or foreign cache file: start afresh (it is only a cache).
            self.db.close()
            self.path.unlink(missing_ok=True)
            self.db = sqlite3.connect(self.path)
            self.db.executescript(SCHEMA)

    # -- settings fingerprint: when it changes, every parsed document is stale ----------
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        if self.readonly:
            return
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))

    def reset_docs(self) -> None:
        if self.readonly:
            return
        self.db.execute("DELETE FROM docs")

    # -- source files --------------------------------------------------------------------
    def file_stats(self) -> dict[str, tuple[int, int, str]]:
        return {s: (m, z, d) for s, m, z, d in self.db.execute("SELECT * FROM files")}

    def set_files(self, rows: list[tuple[str, int, int, str]]) -> None:
        if self.readonly:
            return
        self.db.execute("DELETE FROM files")
        self.db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)", rows)

    # -- parsed documents ----------------------------------------------------------------
    def parsed(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], object]:
        out = {}
        for source, digest, meta in self.db.execute("SELECT source, digest, meta FROM docs"):
            out[(source, digest)] = meta
        wanted = set(keys)
        return {k: pickle.loads(v) for k, v in out.items() if k in wanted}

    def put_parsed(self, source: str, digest: str, meta: object, html: str, text: str) -> None:
        if self.readonly:
            return
        self.db.execute(
            "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?)",
            (source, digest, pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL), html, text),
        )

    def body(self, source: str, digest: str) -> tuple[str, str]:
        """(html, plain text) of a parsed speech; safe to call from the indexers' threads."""
        with self._lock:
            row = self.db.execute(
                "SELECT html, text FROM docs WHERE source=? AND digest=?", (source, digest)
            ).fetchone()
        if row is None:
            raise KeyError(source)
        return row[0], row[1]

    def prune_docs(self, keep: set[tuple[str, str]]) -> None:
        if self.readonly:
            return
        stale = [k for k in self.db.execute("SELECT source, digest FROM docs") if tuple(k) not in keep]
        self.db.executemany("DELETE FROM docs WHERE source=? AND digest=?", stale)

    # -- output pages --------------------------------------------------------------------
    def page_keys(self) -> dict[str, tuple[str, str | None]]:
        return {p: (k, o) for p, k, o in self.db.execute("SELECT path, key, owner FROM pages")}

    def set_page(self, path: str, key: str, owner: str | None) -> None:
        if self.readonly:
            return
        self.db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", (path, key, owner))

    def drop_pages(self, paths: list[str]) -> None:
        if self.readonly:
            return
        self.db.executemany("DELETE FROM pages WHERE path=?", [(p,) for p in paths])

    def commit(self) -> None:
        if self.readonly:
            return
        self.db.commit()

    def close(self) -> None:
        self.db.close()
