"""A forward proxy that tunnels CONNECT without looking inside, so it cannot buffer HTTPS.

Bytes of a TLS stream pass as they come; only connection-level effects (timeouts) apply.
This is why HTTPS was long the advice against buffering proxies: it works until the proxy
starts intercepting TLS (see tls_intercept).
Imitates: classic forward proxies without SSL inspection (Squid without ssl_bump).
Source: FIELD.md "CONNECT passthrough"; MITMPROXY.md ("Passed through (ignore_hosts):
only connection-level hooks fire; the body is never seen").
"""

from __future__ import annotations

from mitmproxy import ctx

HOP_MODE = "regular"  # a forward proxy: clients are configured to use it


class ConnectPassthrough:
    def running(self) -> None:
        ctx.options.update(ignore_hosts=[".*"])  # never intercept: every CONNECT is a tunnel


addons = [ConnectPassthrough()]
