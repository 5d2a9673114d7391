"""Speak HTTP/2 to clients but HTTP/1.1 to the server behind, as CDNs and load balancers do.

The browser negotiates h2 with the edge over TLS; the origin sees HTTP/1.1, one connection
per stream. A server that picks its strategy from the protocol it sees (close-after-event
SSE only on HTTP/1.x, say) then guesses wrong about the client.
Imitates: CloudFront, AWS ALB and other CDNs / load balancers with HTTP/1.1 to the origin.
No installable counterpart: CloudFront and the ALB are cloud services.
Source: docs/field.md "HTTP/2 in front, HTTP/1.1 behind"; AWS ALB docs (HTTP/1.1 to targets by
default); docs/mitmproxy.md (mitmproxy mirrors the client's protocol upstream unless told).
"""

from __future__ import annotations

from mitmproxy import ctx
from mitmproxy.proxy import server_hooks


class H2FrontH1Back:
    def running(self) -> None:
        ctx.options.update(http2=True)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        # Set before TLS starts, so mitmproxy's tlsconfig keeps it instead of mirroring h2.
        data.server.alpn_offers = (b"http/1.1",)


addons = [H2FrontH1Back()]
