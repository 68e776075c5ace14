"""`site-builder serve`: build, serve output/, answer /api/search, rebuild on change, live reload.

The package, from the socket inwards:

* ``command``      ``PreviewServer`` (ties the pieces together; the CLI and the tests use it) and
                   ``serve_command``, the command.
* ``http_server``  the HTTP side: bounded request line and headers, GET/HEAD only, no bodies, only
                   the host names this server serves, raw UTF-8 request lines; one thread per
                   connection, admitted by the ``ConnectionGuard``.
* ``guard``        connections by client address: a deadline for request heads, a share per address,
                   the oldest waiting connection dropped (not the newest refused) when full.
* ``hosts``        which ``Host`` names are served (DNS-rebinding protection).
* ``app``          the application: ``App.handle(Request) -> Response``, no sockets — routing, files,
                   the search API, live reload. Tested in-process.
* ``files``        which file under output/ a path means (no way out), one version of it.
* ``search``       ``/api/search`` parameters; ``SearchPool``, open indexes and a cache of answers.
* ``livereload``   the script injected into HTML pages, its event stream and polling fallback.
* ``state``        ``BuildState``: the build generation and last failure; live reload waits on it.
* ``site``         ``Site``: configuration, output folder, search pool, state and the rebuild loop.
* ``builder``      ``BuildProcess``: rebuilds in a long-lived single-threaded process of their own
                   (never a fork of this threaded one), which lets go of each build's templates.
* ``watch``        ``Watcher``: watchfiles on the sources, debounced rebuilds.
* ``limits``       every limit and timing, and the content types.
"""

from __future__ import annotations

from .app import App, Request, Response
from .builder import BuildCrashed, BuildProcess
from .command import PreviewServer, initial_build, serve_command
from .errors import BadRequest, Forbidden
from .guard import ConnectionGuard
from .hosts import host_allowed, is_loopback, misdirected_message, split_host
from .http_server import Handler, PreviewHTTPServer
from .limits import *  # noqa: F403 - the limits are part of the interface
from .limits import content_type
from .search import SearchPool, SearchUnavailable, parse_search_params, year_rule
from .site import Site
from .state import BuildState
from .watch import Watcher

__all__ = [
    "App",
    "BadRequest",
    "BuildCrashed",
    "BuildProcess",
    "BuildState",
    "ConnectionGuard",
    "Forbidden",
    "Handler",
    "PreviewHTTPServer",
    "PreviewServer",
    "Request",
    "Response",
    "SearchPool",
    "SearchUnavailable",
    "Site",
    "Watcher",
    "content_type",
    "host_allowed",
    "initial_build",
    "is_loopback",
    "misdirected_message",
    "parse_search_params",
    "serve_command",
    "split_host",
    "year_rule",
]
