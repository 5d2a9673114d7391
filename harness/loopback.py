"""Addresses a user gives for their own stack: checked by parsing alone, never by connecting.

Gauntlet sends traffic to this machine only, so a target endpoint (`--target URL`) and a fixed
server address (`--server-port`, a chain's `server = "127.0.0.1:PORT"`) must be loopback:
an IP literal in 127.0.0.0/8 or ::1, or exactly `localhost`, decided with `ipaddress` on the
parsed host (RFC 3986 via urllib.parse), not by a string prefix ("127.evil.example" is not
loopback). These are pure functions, so a refusal is tested without a packet leaving.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from gauntlet.errors import GauntletError


def is_loopback_host(host: str) -> bool:
    """`localhost`, or an IP literal in 127.0.0.0/8 or ::1 (brackets already stripped)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target_url(url: str, what: str = "--target") -> str:
    """`http://HOST:PORT` with a loopback HOST, no userinfo, a port, no path: the base URL.

    Raises a one-line GauntletError naming `what`, the URL and the rule it breaks.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise GauntletError(f"{what} {url!r}: not a URL ({exc})") from None
    if parts.scheme != "http":
        raise GauntletError(
            f"{what} {url!r}: expected http://HOST:PORT (plain HTTP; the hops "
            "add TLS where a cell needs it)"
        )
    if parts.username is not None or parts.password is not None:
        raise GauntletError(f"{what} {url!r}: no user:password@ in the URL")
    host = parts.hostname or ""
    if not is_loopback_host(host):
        raise GauntletError(
            f"{what} {url!r}: host {host!r} is not loopback; Gauntlet sends "
            "traffic to this machine only (127.0.0.0/8, ::1, localhost)"
        )
    if port is None or port == 0:
        raise GauntletError(f"{what} {url!r}: a port is required (http://127.0.0.1:PORT)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise GauntletError(
            f"{what} {url!r}: give the base URL only; the endpoint's paths are "
            "fixed by the contract (/sse, /poll, /ws, /publish)"
        )
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def parse_server_address(text: str, what: str = "server") -> tuple[str, int]:
    """`127.0.0.1:PORT` (or `[::1]:PORT`, `localhost:PORT`, a bare `PORT`) -> (host, port)."""
    raw = text.strip()
    if raw.isdigit():
        raw = f"127.0.0.1:{raw}"
    try:
        parts = urlsplit(f"//{raw}")
        port = parts.port
    except ValueError as exc:
        raise GauntletError(f"{what} {text!r}: expected 127.0.0.1:PORT ({exc})") from None
    host = parts.hostname or ""
    if port is None or not 0 < port < 65536 or parts.username or parts.path:
        raise GauntletError(f"{what} {text!r}: expected 127.0.0.1:PORT with a port 1-65535")
    if not is_loopback_host(host):
        raise GauntletError(
            f"{what} {text!r}: host {host!r} is not loopback; the server "
            "listens on this machine only"
        )
    return ("127.0.0.1" if host == "localhost" else host), port
