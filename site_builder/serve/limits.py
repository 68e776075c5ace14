"""The preview server's limits and timings, and the content types it sends."""

from __future__ import annotations

import os

MAX_REQUEST_LINE = 8 * 1024  # bytes; longer → 414
MAX_HEADER_BYTES = 16 * 1024  # all header lines together; more → 431
MAX_CONNECTIONS = 1024  # open connections at once; more → the oldest waiting one is dropped (503 if none waits)
PER_CLIENT = 256  # connections per client address that may wait for a request longer than EVICT_GRACE
EVICT_GRACE = 1.0  # seconds a new connection may wait for its request before it can be dropped for another
HEAD_TIMEOUT = 5.0  # seconds from the first byte of a request to the end of its headers; later → 408
REAP_SECONDS = 0.25  # how often the deadlines and shares are enforced
READ_TIMEOUT = 30.0  # seconds a connection may stay silent
MAX_LIMIT = 100  # hits per /api/search answer (larger limits are capped)
MAX_KWIC_LIMIT = 1000  # occurrences per /api/search?kwic=1 answer (likewise)
MAX_OFFSET = 10_000
MAX_PARAMS = 32
READ_WHOLE = 16 * 1024 * 1024  # files up to this size are read into memory, larger ones streamed
HEARTBEAT_SECONDS = 15.0
DEBOUNCE_MS = 300  # wait this long after the last change before rebuilding (watchfiles 'step')
SEARCH_POOL_SIZE = 2  # open SearchIndex objects (each serialises its own searches)
#: worker processes that run the searches of `serve` (0: in the server's threads); SITE_BUILDER_SEARCH_WORKERS
_WORKERS = os.environ.get("SITE_BUILDER_SEARCH_WORKERS", "")
SEARCH_WORKERS = int(_WORKERS) if _WORKERS.isdigit() else min(4, os.cpu_count() or 1)
SEARCH_TIMEOUT = 60.0  # seconds a search may take in a worker before its workers are replaced (503)
CACHE_ENTRIES = 2048  # cached /api/search answers (0: no cache) …
CACHE_BYTES = 64 * 1024 * 1024  # … and their total size
STAMP_SECONDS = 0.2  # how often the index folder is looked at for a generation made elsewhere
RECYCLE_BUILDS = 100  # builds before the build process is replaced by a fresh one (a safety net)

LIVERELOAD_PATH = "/__livereload"
LIVERELOAD_JS_PATH = "/__livereload.js"

TEXT = "; charset=utf-8"
CONTENT_TYPES = {
    ".html": "text/html" + TEXT,
    ".htm": "text/html" + TEXT,
    ".css": "text/css" + TEXT,
    ".js": "text/javascript" + TEXT,
    ".mjs": "text/javascript" + TEXT,
    ".json": "application/json" + TEXT,
    ".map": "application/json" + TEXT,
    ".webmanifest": "application/manifest+json" + TEXT,
    ".xml": "application/xml" + TEXT,
    ".xsl": "application/xml" + TEXT,
    ".txt": "text/plain" + TEXT,
    ".md": "text/markdown" + TEXT,
    ".csv": "text/csv" + TEXT,
    ".svg": "image/svg+xml" + TEXT,
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
    ".gz": "application/gzip",
    ".zip": "application/zip",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
DEFAULT_TYPE = "application/octet-stream"


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), DEFAULT_TYPE)
