"""`site-builder serve`: ``PreviewServer`` ties the pieces together (the CLI and the tests use it),
``serve_command`` is the command."""

from __future__ import annotations

import errno
import threading
import traceback
from pathlib import Path

import click

from ..cli.common import content_options
from ..config import SiteConfig, load_config
from ..errors import SiteBuilderError
from ..workers import avoid_fork_by_default
from .app import App
from .hosts import is_loopback
from .http_server import PreviewHTTPServer
from .limits import CACHE_ENTRIES, DEBOUNCE_MS, HEAD_TIMEOUT, MAX_CONNECTIONS, PER_CLIENT, SEARCH_POOL_SIZE
from .site import Site
from .watch import Watcher


class PreviewServer:
    """Serve a site: ``start()`` in a background thread (tests) or ``serve_forever()`` (the CLI)."""

    def __init__(
        self,
        config: SiteConfig,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        watch: bool = True,
        livereload: bool = True,
        overrides: dict | None = None,
        log=None,
        index_factory=None,
        pool_size: int = SEARCH_POOL_SIZE,
        debounce_ms: int = DEBOUNCE_MS,
        max_connections: int = MAX_CONNECTIONS,
        cache_entries: int = CACHE_ENTRIES,
        per_client: int = PER_CLIENT,
        head_timeout: float = HEAD_TIMEOUT,
        allowed_hosts: tuple[str, ...] = (),
    ):
        self.site = Site(
            config,
            overrides,
            log=log,
            livereload=livereload,
            index_factory=index_factory,
            pool_size=pool_size,
            cache_entries=cache_entries,
        )
        self.app = App(self.site)
        self.httpd = PreviewHTTPServer(
            (host, port),
            self.app,
            max_connections=max_connections,
            per_client=per_client,
            head_timeout=head_timeout,
            allowed_hosts=allowed_hosts,
        )
        self.watcher = Watcher(self.site, debounce_ms) if watch else None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        address = self.httpd.server_address[0]
        host = address.decode() if isinstance(address, bytes) else address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def start(self) -> PreviewServer:
        if self.watcher:
            self.site.builder.warm()
            self.watcher.start()
            self.watcher.ready.wait(10)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="site-builder-serve", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self.watcher:
            self.site.builder.warm()
            self.watcher.start()
        try:
            self.httpd.serve_forever(poll_interval=0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self.httpd.stopping = True
        self.site.state.stop()
        if self.watcher:
            self.watcher.stop()
        if self._thread:
            self.httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self.httpd.server_close()
        self.site.builder.close()
        if self.watcher and self.watcher.is_alive() and self.watcher is not threading.current_thread():
            self.watcher.join(5)
        self.site.pool.close()

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def initial_build(config: SiteConfig, warnings: list, log) -> None:
    """Build before serving; report like `site-builder build`, but go on serving whatever happens."""
    from ..build import build as run_build
    from ..report import Progress, print_problems

    try:
        result = run_build(config, progress=Progress(), notify=log)
    except SiteBuilderError as err:
        log(f"error: {err}\nserving what is already in {config.output}")
        return
    except Exception as err:
        log(
            f"error: the build failed: {type(err).__name__}: {err}\n{traceback.format_exc()}"
            f"serving what is already in {config.output}; fix the problem and save to rebuild"
        )
        return
    print_problems(warnings + result.problems)
    log(result.summary())
    if result.errors:
        log("The pages of speeches with errors were left as they were.")


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but a loopback address makes the archive readable from other machines.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@content_options
@click.option("--drafts", is_flag=True, help="Include speeches marked draft: true.")
@click.option("--no-watch", is_flag=True, help="Do not rebuild when content, themes or settings change.")
@click.option("--no-reload", is_flag=True, help="Do not reload open pages after a rebuild.")
def serve_command(host, port, content, output, drafts, no_watch, no_reload):
    """Build the site, serve it, rebuild on change and reload open pages.

    Serves only the files in the output folder, plus a search API that answers like
    'site-builder search --json':

    \b
      GET /api/search?q=如履薄冰&year=2018-2020&meeting_type=座谈会&theme=…&limit=10&offset=0

    Saving a speech, a template or pyproject.toml rebuilds what changed; a failed rebuild is
    reported here and the previous site stays up. Stop with Ctrl-C.

    Example: site-builder serve --port 8000 --content content --output output
    """
    log = lambda message: click.echo(message, err=True)
    overrides = {
        "content_dir": Path(content) if content else None,
        "output_dir": Path(output) if output else None,
        "drafts": drafts or None,
    }
    config, warnings = load_config(Path.cwd(), overrides)
    initial_build(config, warnings, log)
    # A backstop: rebuilds run in their own process (BuildProcess) and the project's pools never
    # fork a threaded process (workers.py), but should a library start processes of its own from
    # this threaded one, make its default a clean fork server.
    avoid_fork_by_default()
    try:
        server = PreviewServer(
            config, host, port, watch=not no_watch, livereload=not no_reload, overrides=overrides, log=log
        )
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise click.UsageError(f"port {port} on {host} is in use; try --port {port + 1} (or --port 0)") from None
        raise click.UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    if not is_loopback(host):
        log(f"warning: listening on {host}: other machines can read this archive and its search API")
    log(f"Serving {config.output} at {server.url}  (Ctrl-C to stop)")
    if not no_watch:
        watched = ", ".join(str(p) for p in server.site.watch_paths()) or "nothing yet"
        log(f"Watching {watched} and pyproject.toml")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("Stopped.")
