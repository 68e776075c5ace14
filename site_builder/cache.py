"""The build cache: a SQLite file in the state folder beside output/ (safe to delete).

It remembers, per source file, its stat and digest; per (source, digest) the parsed speech
(metadata, HTML, plain text, problems); per output page, the key of everything the page was
rendered from (and the digest of its inputs: page_inputs.py). A build re-parses only files whose
bytes changed and re-renders only pages whose key changed, which is why an incremental build
equals a clean one.

Stored compactly (#15): the pickled metadata deflated, and the plain text and the HTML deflated
together in one stream, text first (the HTML repeats the text, which deflate then stores as back
references), encoded as UTF-16 (``pack_body``: 16 % of the two in UTF-8 at 1,000 generated
speeches, where UTF-8 gave 22 %). The file is compacted (``VACUUM``) when a
quarter of it is free pages. The state folders of output folders that no longer exist are removed by
the next build beside them (``remove_stale``) or by ``site-builder clean``.
"""

from __future__ import annotations

import fcntl
import pickle
import shutil
import sqlite3
import threading
import zlib
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path

from .textio import decode_text, encode_texts

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (source TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, digest TEXT);
CREATE TABLE IF NOT EXISTS parsed (source TEXT, digest TEXT, meta BLOB, body BLOB, PRIMARY KEY (source, digest));
CREATE TABLE IF NOT EXISTS pages (path TEXT PRIMARY KEY, key TEXT, owner TEXT);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS page_inputs (path TEXT PRIMARY KEY, inputs TEXT, key TEXT);
CREATE TABLE IF NOT EXISTS page_plan (id INTEGER PRIMARY KEY, state BLOB);
CREATE TABLE IF NOT EXISTS parsed_base (id INTEGER PRIMARY KEY, data BLOB);
DROP TABLE IF EXISTS docs;
"""
# ``page_inputs``: a page's inputs (page_inputs.py) and the key they gave; a table of its own, so
# that an older checkout, which knows only ``pages``, can still use the cache (its pages' new keys
# then differ from the keys here, and their inputs are not trusted).
# ``parsed_base``: every speech's parsed record in one blob (parsed_store.py), row 0.
# ``page_plan``: what the last plan of the pages found (page_changes.py), row 0; none while pages
# are being written.
# ``docs`` held html and text uncompressed (before #15): dropped, its speeches are parsed again.

#: deflate level of the stored metadata.
LEVEL = 4
#: deflate level of the stored bodies. In UTF-16, at 1,000 generated speeches (61 MB of text and HTML
#: in UTF-8): level 6 gives 9.67 MB in 0.64 s CPU, level 4 9.84 MB in 0.50 s, level 1 10.7 MB in
#: 0.36 s (in UTF-8, level 4 gave 13.4 MB in 0.74 s); inflating costs the same at any level (0.12 s;
#: 0.17 s from UTF-8).
BODY_LEVEL = 6
RECENT_BODIES = 4  # bodies kept unpacked by BuildCache.body
PARSED_ONE_BY_ONE = 2_000  # BuildCache.parsed of fewer keys looks each up; of more, reads the table
CACHE_ROOT = ".site_builder_cache"  # the folder beside output/ that holds one state folder per output


def pack_body(html: str, text: str) -> bytes:
    """The stored form of a parsed body: a codec byte, len(text encoded) in 4 bytes, then
    deflate(text + html encoded). Encoded as UTF-16-LE (#15): a Chinese character is 2 bytes, not
    3, and deflate finds more of its repeats (its window holds more characters), so the body takes
    about 28 % less and is deflated faster. A string with a lone surrogate cannot be UTF-16 (two
    lone halves would come back as one character): such a body is stored as UTF-8 with its
    surrogates kept (``surrogatepass``), as before. (A blob of the format before, without the codec
    byte, is never read: the parse fingerprint covers the code, and a new one empties the table.)"""
    codec, (raw, rest) = encode_texts(text, html)
    return bytes((codec,)) + len(raw).to_bytes(4, "little") + zlib.compress(raw + rest, BODY_LEVEL)


def unpack_body(blob: bytes) -> tuple[str, str]:
    """(html, text) from ``pack_body``'s bytes."""
    n = int.from_bytes(blob[1:5], "little")
    raw = zlib.decompress(blob[5:])
    return decode_text(blob[0], raw[n:]), decode_text(blob[0], raw[:n])


def unpack_text(blob: bytes) -> str:
    """The plain text of ``pack_body``'s bytes, inflating only as far as it goes (it comes first)."""
    n = int.from_bytes(blob[1:5], "little")
    if not n:  # (a max_length of 0 means no limit)
        return ""
    return decode_text(blob[0], zlib.decompressobj().decompress(blob[5:], n))


class BuildCache:
    def __init__(self, state_dir: Path, readonly: bool = False):
        """``readonly``: read what an earlier build stored, never write (``check``, render workers)."""
        self.path = state_dir / "cache.sqlite"
        self.readonly = readonly
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], tuple[str, str]] = {}  # the last bodies read, oldest first
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
                self.db.execute("SELECT 1 FROM parsed LIMIT 1")
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
        self.db.execute("DELETE FROM parsed")
        self.db.execute("DELETE FROM parsed_base")

    # -- source files --------------------------------------------------------------------
    def file_stats(self) -> dict[str, tuple[int, int, str]]:
        return {s: (m, z, d) for s, m, z, d in self.db.execute("SELECT * FROM files")}

    def update_files(self, rows: list[tuple[str, int, int, str]], known: dict[str, tuple[int, int, str]]) -> None:
        """The files table as ``rows`` (source, mtime, size, digest), writing only the rows that
        differ from ``known`` (``file_stats``)."""
        if self.readonly:
            return
        sources = {r[0] for r in rows}
        self.db.executemany("DELETE FROM files WHERE source=?", [(s,) for s in known if s not in sources])
        changed = [r for r in rows if known.get(r[0]) != r[1:]]
        self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", changed)

    # -- parsed documents ----------------------------------------------------------------
    def parsed(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], object]:
        """(source, digest) → the parsed record stored under it, for those of ``keys`` stored."""
        if len(keys) < PARSED_ONE_BY_ONE:  # a few (the rest from the base): by the primary key
            found = {}
            for key in keys:
                row = self.db.execute("SELECT meta FROM parsed WHERE source=? AND digest=?", key).fetchone()
                if row is not None:
                    found[key] = pickle.loads(zlib.decompress(row[0]))
            return found
        wanted = set(keys)
        return {
            (source, digest): pickle.loads(zlib.decompress(meta))
            for source, digest, meta in self.db.execute("SELECT source, digest, meta FROM parsed")
            if (source, digest) in wanted
        }

    def put_parsed(self, source: str, digest: str, meta: object, html: str, text: str) -> None:
        if self.readonly:
            return
        self.db.execute(
            "INSERT OR REPLACE INTO parsed VALUES (?, ?, ?, ?)",
            (
                source,
                digest,
                zlib.compress(pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL), LEVEL),
                pack_body(html, text),
            ),
        )

    def body(self, source: str, digest: str) -> tuple[str, str]:
        """(html, plain text) of a parsed speech; safe to call from the indexers' threads. The last
        few are kept: an indexer reads a speech's text and then its headings (from the HTML)."""
        key = (source, digest)
        with self._lock:
            found = self._recent.get(key)
            if found is None:
                row = self.db.execute("SELECT body FROM parsed WHERE source=? AND digest=?", key).fetchone()
                if row is None:
                    raise KeyError(source)
                found = self._recent[key] = unpack_body(row[0])
                if len(self._recent) > RECENT_BODIES:
                    del self._recent[next(iter(self._recent))]
        return found

    def text(self, source: str, digest: str) -> str:
        """The plain text of a parsed speech (its HTML is not inflated); safe from threads."""
        with self._lock:
            found = self._recent.get((source, digest))
            if found is not None:
                return found[1]
            row = self.db.execute("SELECT body FROM parsed WHERE source=? AND digest=?", (source, digest)).fetchone()
        if row is None:
            raise KeyError(source)
        return unpack_text(row[0])

    def prune_docs(self, keep: AbstractSet[tuple[str, str]]) -> None:
        if self.readonly:
            return
        stale = [k for k in self.db.execute("SELECT source, digest FROM parsed") if tuple(k) not in keep]
        self.db.executemany("DELETE FROM parsed WHERE source=? AND digest=?", stale)

    def drop_parsed(self, keys: list[tuple[str, str]]) -> None:
        """Delete the parsed records of ``keys`` (``prune_docs`` when the stale keys are known)."""
        if self.readonly:
            return
        self.db.executemany("DELETE FROM parsed WHERE source=? AND digest=?", keys)

    def parsed_base(self) -> bytes | None:
        """The blob of every speech's parsed record that a build left (parsed_store.py), or None."""
        return self._one_blob("SELECT data FROM parsed_base WHERE id=0")

    def _one_blob(self, query: str) -> bytes | None:
        """The one blob ``query`` selects, or None (no row, or a read-only cache of an older
        version without the table)."""
        try:
            row = self.db.execute(query).fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def set_parsed_base(self, data: bytes) -> None:
        if self.readonly:
            return
        self._put_blob("parsed_base", "data", data)

    def _put_blob(self, table: str, column: str, data: bytes) -> None:
        """Row 0 of ``table`` (id, ``column``) holding ``data``, written through SQLite's blob handle:
        a blob bound as a parameter stays copied in the connection's cached statement until the
        connection closes (13 MB of parsed base at 10,000 speeches, held into the index stages)."""
        self.db.execute(f"INSERT OR REPLACE INTO {table} VALUES (0, zeroblob(?))", (len(data),))
        if data:
            with self.db.blobopen(table, column, 0) as blob:
                blob.write(data)

    # -- output pages --------------------------------------------------------------------
    def page_keys(self) -> dict[str, tuple[str, str | None]]:
        return {p: (k, o) for p, k, o in self.db.execute("SELECT path, key, owner FROM pages")}

    def set_page(self, path: str, key: str, owner: str | None) -> None:
        if self.readonly:
            return
        self.db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", (path, key, owner))

    def stored_inputs(self) -> StoredInputs:
        """Output path → (its inputs, the key they gave) (page_inputs.py), read as asked."""
        return StoredInputs(self.db)

    def set_inputs(self, rows: list[tuple[str, str, str]]) -> None:
        """(path, inputs, key) of pages (page_inputs.py)."""
        if self.readonly:
            return
        self.db.executemany("INSERT OR REPLACE INTO page_inputs VALUES (?, ?, ?)", rows)

    def page_plan(self) -> bytes | None:
        """What the last build's plan of the pages kept (page_changes.py), or None."""
        return self._one_blob("SELECT state FROM page_plan WHERE id=0")

    def set_page_plan(self, state: bytes | None) -> None:
        """Keep ``state`` for the next plan; None: drop it (pages are being written)."""
        if self.readonly:
            return
        self.db.execute("DELETE FROM page_plan")
        if state is not None:
            self._put_blob("page_plan", "state", state)

    def drop_pages(self, paths: list[str]) -> None:
        if self.readonly:
            return
        self.db.executemany("DELETE FROM pages WHERE path=?", [(p,) for p in paths])
        self.db.executemany("DELETE FROM page_inputs WHERE path=?", [(p,) for p in paths])

    def commit(self) -> None:
        if self.readonly:
            return
        self.db.commit()

    def close(self) -> None:
        if not self.readonly and not self.db.in_transaction:
            self._compact()
        self.db.close()

    def _compact(self) -> None:
        """VACUUM when a quarter of the file or more is free pages (deleted speeches, a dropped table)."""
        try:
            pages = self.db.execute("PRAGMA page_count").fetchone()[0]
            free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
            if pages and free * 4 >= pages:
                self.db.execute("VACUUM")
        except sqlite3.DatabaseError:  # full disk, a reader holding it: it stays as it is
            pass


# -- state folders of output folders that are gone -------------------------------------------


def output_of(state_dir: Path) -> Path:
    """The output folder a state folder belongs to: ``X/.site_builder_cache/<name>-<key>`` → ``X/<name>``."""
    return state_dir.parent.parent / state_dir.name.rpartition("-")[0]


def is_state_dir(path: Path) -> bool:
    name, dash, key = path.name.rpartition("-")
    return bool(name and dash and len(key) == 8 and all(c in "0123456789abcdef" for c in key)) and path.is_dir()


def remove_state(state_dir: Path) -> bool:
    """Delete one state folder unless a build holds its lock; True if it was deleted."""
    lock = state_dir / "build.lock"
    try:
        fh = open(lock, "a+")  # noqa: SIM115 - held while the folder is deleted
    except OSError:
        fh = None
    try:
        if fh is not None:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a build of it is running
        shutil.rmtree(state_dir, ignore_errors=True)
        return not state_dir.exists()
    finally:
        if fh is not None:
            fh.close()


def remove_stale(root: Path, keep: Path | None = None, notify: Callable[[str], object] | None = None) -> list[Path]:
    """Delete the state folders in ``root`` (a ``.site_builder_cache`` folder) whose output folder
    no longer exists, except ``keep``, each with a one-line note to ``notify``; return the output
    folders whose caches were deleted."""
    gone = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for state_dir in entries:
        if state_dir == keep or not is_state_dir(state_dir) or output_of(state_dir).exists():
            continue
        if remove_state(state_dir):
            gone.append(output_of(state_dir))
            if notify:
                notify(f"已删除构建缓存 {state_dir}：输出文件夹 {gone[-1]} 已不存在（its output folder is gone）")
    try:
        if not any(root.iterdir()):
            root.rmdir()
    except OSError:
        pass
    return gone


def _looks_built(output: Path) -> bool:
    """A folder that ``build`` wrote: its home page and its sitemap are there."""
    return (output / "index.html").is_file() and (output / "sitemap.xml").is_file()


def _holds(folder: Path, other: Path) -> bool:
    return other == folder or other.is_relative_to(folder)


def clean(output: Path, content: Path, all_caches: bool = False, site: bool = False) -> tuple[list[str], int]:
    """``site-builder clean``: delete the build cache of ``output`` (every state folder of that output
    folder, whatever content it was built from) and those of output folders that no longer exist;
    ``all_caches``: the whole ``.site_builder_cache`` folder beside it; ``site``: the output folder
    too. Returns (lines to print, exit code)."""
    root = output.parent / CACHE_ROOT
    lines: list[str] = []
    code = 0
    if site and output.exists():
        if any(_holds(output, p) for p in (content, Path.cwd().resolve())) or not _looks_built(output):
            lines.append(
                f"未删除输出文件夹 {output}：它不像 site-builder 生成的网站，或包含内容文件夹/当前文件夹"
                f"（not deleted: {output} is not a site that build wrote, or it holds the content or the current folder）"
            )
            code = 1
        else:
            shutil.rmtree(output, ignore_errors=True)
            lines.append(f"已删除输出文件夹 {output}（deleted the output folder）")
    states = sorted(p for p in root.iterdir() if is_state_dir(p)) if root.is_dir() else []
    for state in states:
        if all_caches or output_of(state) == output or not output_of(state).exists():
            if remove_state(state):
                lines.append(f"已删除构建缓存 {state}（deleted the build cache of {output_of(state)}）")
            else:
                lines.append(f"未删除 {state}：正在构建（a build of {output_of(state)} is running; not deleted）")
                code = 1
    try:
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
    except OSError:
        pass
    if not lines:
        lines.append(f"没有需要删除的构建缓存（no build cache for {output}）")
    return lines, code


class StoredInputs:
    """Output path → (its inputs, the key they gave) as the ``page_inputs`` table holds them, each
    row read when first asked for (``get``, ``[]``), and the whole table once more than
    ``ONE_BY_ONE`` were: a one-changed build asks for a few of 23,000 rows at 10,000 speeches
    (the table read whole took 0.027 s, #15). Read before the pages' rows are written (``select``)."""

    ONE_BY_ONE = 1_000

    def __init__(self, db: sqlite3.Connection):
        self._db = db
        self._rows: dict[str, tuple[str, str] | None] = {}
        self._whole = False

    def get(self, path: str, default=None):
        if path not in self._rows and not self._whole:
            self._read(path)
        found = self._rows.get(path)
        return default if found is None else found

    def __getitem__(self, path: str) -> tuple[str, str]:
        found = self.get(path)
        if found is None:
            raise KeyError(path)
        return found

    def _read(self, path: str) -> None:
        try:
            if len(self._rows) < self.ONE_BY_ONE:
                row = self._db.execute("SELECT inputs, key FROM page_inputs WHERE path=?", (path,)).fetchone()
                self._rows[path] = None if row is None else (row[0], row[1])
                return
            self._rows = {p: (i, k) for p, i, k in self._db.execute("SELECT path, inputs, key FROM page_inputs")}
        except sqlite3.OperationalError:  # a read-only cache of an older version: no such table
            self._rows = {}
        self._whole = True
