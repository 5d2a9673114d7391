"""Forward responses as HTTP/1.0: no chunked encoding, so a stream is delimited by close.

An HTTP/1.0 response with no Content-Length ends when the connection closes; the hop sends
the body bytes as they come but the connection cannot be reused, and keep-alive is gone.
Imitates: legacy proxies that speak HTTP/1.0 (no chunking), e.g. old Squid releases.
No installable counterpart: Debian's squid speaks HTTP/1.1 upstream (measured).
Source: docs/field.md "HTTP/1.0-only hop"; RFC 9112 §6.3 (message body length: close-delimited).
"""

from __future__ import annotations

from mitmproxy import http

from gauntlet.proxies._conn import close_client, later


class Http10Hop:
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        flow.request.http_version = "HTTP/1.0"

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response.status_code == 101:
            return
        response.http_version = "HTTP/1.0"
        response.headers.pop("transfer-encoding", None)
        response.headers["connection"] = "close"

    def response(self, flow: http.HTTPFlow) -> None:
        """The body is delimited by the close: without it the client waits forever."""
        if flow.response is not None and flow.response.http_version == "HTTP/1.0":
            later(0, lambda: close_client(flow.client_conn, "HTTP/1.0 body ends with close"))


addons = [Http10Hop()]
