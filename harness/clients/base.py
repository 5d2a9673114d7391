"""What every reference client shares: where to connect, how, and how long to back off."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx

from gauntlet.tls import RunCA

DEFAULT_CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Target:
    """Where a client connects: the front of the chain (first hop, or the server when direct).

    `base_url` is what the client asks for (`http://127.0.0.1:PORT`). With `forward_proxy`
    set, the client talks to that proxy and asks it for `base_url` (absolute-URI requests),
    as a browser configured with a corporate proxy does.
    """

    base_url: str
    forward_proxy: str | None = None
    http2: bool = False
    tls: RunCA | None = None  # the run's CA, trusted for https:// and wss://
    transport: httpx.AsyncBaseTransport | None = None
    """An in-memory HTTP transport for unit tests that drive a client under trio's MockClock
    (tests/unit/test_client_drivers.py); None, always in a cell, means real sockets."""

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls is None:
            return None
        return self.tls.client_context(["h2", "http/1.1"] if self.http2 else ["http/1.1"])

    def ws_url(self, path: str) -> str:
        return "ws" + self.base_url.removeprefix("http") + path


def http_client(target: Target) -> httpx.AsyncClient:
    """One httpx client per subscriber: its own pool, so connections are the subscriber's own.

    No read timeout: a push stream may legitimately be silent; the cell's deadline bounds it.
    """
    return httpx.AsyncClient(
        proxy=target.forward_proxy,
        http2=target.http2,
        verify=target.ssl_context() or True,
        timeout=httpx.Timeout(DEFAULT_CONNECT_TIMEOUT_S, read=None),
        trust_env=False,  # never pick up a proxy from the environment: loopback only
        transport=target.transport,
    )
