"""Proxy as nginx does when nothing is tuned: HTTP/1.0 upstream, and buffers of one page.

The request goes upstream as HTTP/1.0 without `Upgrade` (hop-by-hop), with `Connection:
close` as nginx sends it, so a WebSocket handshake reaches the server as a plain GET and
fails. The response, headers included, waits until the first buffer (one memory page,
headers plus body) is full; after it, the body leaves a full page at a time, the rest when
the response ends. An HTTP/1 client
gets HTTP/1.1, chunked, and `Connection: close`: nginx keeps the client's connection alive,
but mitmproxy decides both sides' reuse from one request object, and keeping the client
alive while the upstream HTTP/1.0 connection is spent cost a third of the throughput of
close-each SSE at 30 events/s (measured); a reconnect per response costs latency instead
(close-each at 30/s, 1 KiB: p50 45-60 ms here, 32-37 ms through real nginx).
An upstream `X-Accel-Buffering: no` turns buffering off for that response (nginx hides the
header from the client). Holding the headers uses mitmproxy's own
`stream_large_bodies` switch, the only path that sends headers after body bytes arrived; it
is a process-wide option, set only when a response's head length changes it, because every
update reruns the `configure` hook of each of mitmdump's ~35 addons: 2-6 ms per response
(measured, load 10), which on every response was most of this hop's added latency.
Its added latency is compared with nginx's against a relay doing the same connection work
(`gauntlet fidelity`, `relay~reverse~per-request`): nginx, too, opens an upstream connection
per request; mitmproxy's cost of a connection is not this behaviour's.
Imitates: nginx as a reverse proxy with its defaults (Debian's package as shipped;
tests/e2e/test_external_proxies.py compares the two). Source: nginx docs,
ngx_http_proxy_module: `proxy_http_version` ("By default, version 1.0 is used"),
`proxy_buffering` (on; "X-Accel-Buffering" enables or disables it per response),
`proxy_buffer_size` / `proxy_buffers` (one memory page), `proxy_hide_header` (X-Accel-*);
nginx WebSocket proxying page (Upgrade is hop-by-hop).
"""

from __future__ import annotations

from mitmproxy import ctx, exceptions, http
from mitmproxy.net.http.http1 import assemble_response_head

from gauntlet.proxies._body import HOLD_WHOLE_RESPONSE

CLIENT_VERSION = "gauntlet_client_http_version"
HOP_BY_HOP = ("upgrade", "connection", "keep-alive", "te", "trailer", "proxy-connection")


class NginxBuffers:
    """A body filter: the first `first_bytes` as one piece, then whole `page_bytes` blocks."""

    def __init__(self, first_bytes: int, page_bytes: int) -> None:
        self.size = max(1, first_bytes)
        self.page_bytes = page_bytes
        self.held = bytearray()

    def __call__(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            rest, self.held = bytes(self.held), bytearray()
            return [rest]
        self.held += chunk
        out = []
        while len(self.held) >= self.size:
            out.append(bytes(self.held[: self.size]))
            del self.held[: self.size]
            self.size = self.page_bytes
        return out


class HeldResponse(http.Response):  # pragma: no mutate block (mitmproxy state: tests/proxies)
    """A response whose `stream`, when mitmproxy switches it on, becomes its nginx filter."""

    @property  # type: ignore[override]
    def stream(self):
        return self.__dict__.get("_gauntlet_stream", False)

    @stream.setter
    def stream(self, value) -> None:
        if value is True and "_gauntlet_filter" in self.__dict__:
            value = self.__dict__["_gauntlet_filter"]
        self.__dict__["_gauntlet_stream"] = value


class NginxDefaults:  # pragma: no mutate block (mitmproxy hooks: tests/proxies, taddons)
    def load(self, loader) -> None:
        loader.add_option(
            "nginx_buffer_bytes", int, 4096, "proxy_buffer_size: one memory page (4096 on x86-64)."
        )

    def configure(self, updates) -> None:
        if "nginx_buffer_bytes" in updates and ctx.options.nginx_buffer_bytes < 512:
            raise exceptions.OptionsError("nginx_buffer_bytes must be >= 512")

    def running(self) -> None:
        ctx.options.update(http2=False)  # `listen` without `http2`: HTTP/1.1 only, as shipped

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        flow.metadata[CLIENT_VERSION] = flow.request.http_version
        flow.request.http_version = "HTTP/1.0"
        for name in HOP_BY_HOP:
            flow.request.headers.pop(name, None)
        flow.request.headers["connection"] = "close"  # as nginx sends it upstream

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        assert response is not None
        unbuffered = response.headers.pop("x-accel-buffering", "").lower() == "no"
        response.http_version = flow.metadata.get(CLIENT_VERSION, "HTTP/1.1")
        for name in HOP_BY_HOP:
            response.headers.pop(name, None)
        if not response.is_http2:  # HTTP/2 frames its own body and has no Connection header
            response.headers["connection"] = "close"  # one request per connection: docstring
            if "content-length" not in response.headers:
                response.headers["transfer-encoding"] = "chunked"
        if unbuffered:
            response.stream = True
            return
        page = ctx.options.nginx_buffer_bytes
        first = page - len(assemble_response_head(response))
        response.__class__ = HeldResponse
        response.__dict__["_gauntlet_filter"] = NginxBuffers(first, page)
        flow.metadata[HOLD_WHOLE_RESPONSE] = True  # mitmproxy holds headers and body ...
        hold = str(max(1, first) - 1)  # ... up to the page
        if ctx.options.stream_large_bodies != hold:  # only on a change: docstring
            ctx.options.update(stream_large_bodies=hold)


addons = [NginxDefaults()]
