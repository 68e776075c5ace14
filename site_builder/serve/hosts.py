"""Which host names the preview server answers to (protection against DNS rebinding)."""

from __future__ import annotations

import ipaddress
import re


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*")


def split_host(value: str) -> str | None:
    """The host of a ``Host`` header (or of an absolute URL's authority): lower case, without the
    port, the brackets of an IPv6 address or a final dot; None when it is not a host name."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, port = value[1:end], value[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    else:
        host, sep, port = value.partition(":")
        port = sep + port
        host = host.removesuffix(".")
        if not _HOST_NAME.fullmatch(host):
            return None
    if port and not (port[0] == ":" and port[1:].isascii() and port[1:].isdigit() and len(port) <= 6):
        return None
    return host


def host_allowed(value: str, bind_host: str, extra: tuple[str, ...] | frozenset = ()) -> bool:
    """May a request naming host ``value`` be answered by a server listening on ``bind_host``?

    Yes for 127.0.0.1, localhost and [::1], for the --host given, for ``extra`` names, and for an
    IP address that reaches this server (any loopback address; any address at all when listening
    on every address). Other names are refused: a page on another site whose name an attacker
    points at 127.0.0.1 (DNS rebinding) would otherwise read the archive as if it were its own."""
    host = split_host(value)
    if host is None:
        return False
    bind = bind_host.strip().strip("[]").lower().removesuffix(".")
    if host in LOCAL_NAMES or host == bind or host in {e.lower().strip("[]") for e in extra}:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or bind in _WILDCARD_BINDS


def misdirected_message(value: str, bind_host: str, port: int) -> str:
    names = "127.0.0.1、localhost、[::1]"
    given = bind_host.strip("[]")
    if given and given not in LOCAL_NAMES and given not in _WILDCARD_BINDS:
        names += f"、{given}"
    shown = value.strip()[:100]
    return (
        f"本预览服务器只响应发往 {names} 的请求（收到的 Host 为 {shown!r}）。"
        f"This preview server answers only to {names.replace('、', ', ')}; the request was for {shown!r}. "
        f"Open http://127.0.0.1:{port}/ (or start serve with --host NAME to serve under another name)."
    )
