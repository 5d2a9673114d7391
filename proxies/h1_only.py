"""Speak HTTP/1.1 only, on both sides, even when client and server could do HTTP/2.

Every SSE stream then costs a connection, and browsers cap those at six per origin.
Imitates: proxies and load balancers without HTTP/2 support (or with it switched off).
Installable counterparts (nginx, haproxy as shipped speak HTTP/1.1) are not compared yet.
Source: docs/mitmproxy.md ("http2=false forces HTTP/1.1 on both sides"); docs/field.md
"HTTP/2 in front, HTTP/1.1 behind".
"""

from __future__ import annotations

from mitmproxy import ctx


class H1Only:
    def running(self) -> None:
        ctx.options.update(http2=False)


addons = [H1Only()]
