"""Relay every response chunk the moment it arrives: the well-behaved hop.

Imitates: a reverse proxy or CDN configured for streaming (nginx with `proxy_buffering off`
or `X-Accel-Buffering: no`), the baseline every hostile hop is compared with.
nginx installs here; tests/e2e/test_external_proxies.py compares its unbuffered gzip recipe
with gzip_flush, not this hop.
With `transparent_connection_per_request` it also does nginx_defaults' connection work (HTTP/1.0
and `Connection: close` upstream, `Connection: close` to the client): a new connection on
both sides per request, which costs a Python hop several ms more than nginx, so `gauntlet
fidelity` measures nginx_defaults' added latency against this relay (scenarios/fidelity/
pairs.toml) and compares what the behaviour adds, not mitmproxy's per-connection cost.
Source: mitmproxy buffers bodies unless `flow.response.stream` is set
(mitmproxy/addons/server_side_events.py; docs/mitmproxy.md "Streaming and buffering").
"""

from __future__ import annotations

from mitmproxy import ctx, http

from gauntlet.proxies._body import stream_live

HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection")
CLIENT_VERSION = "gauntlet_client_http_version"


class Transparent:
    """Adds nothing to the baseline every hop has (proxies/_baseline.py): it streams."""

    def load(self, loader) -> None:
        loader.add_option(
            "transparent_connection_per_request",
            bool,
            False,
            "HTTP/1.0 + Connection: close upstream and Connection: close to "
            "the client (nginx_defaults' connection work, nothing else).",
        )

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if not ctx.options.transparent_connection_per_request:
            return
        flow.metadata[CLIENT_VERSION] = flow.request.http_version
        flow.request.http_version = "HTTP/1.0"
        for name in HOP_BY_HOP:
            flow.request.headers.pop(name, None)
        flow.request.headers["connection"] = "close"

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        assert response is not None
        if ctx.options.transparent_connection_per_request and response.status_code != 101:
            response.http_version = flow.metadata.get(CLIENT_VERSION, "HTTP/1.1")
            for name in HOP_BY_HOP:
                response.headers.pop(name, None)
            if not response.is_http2:
                response.headers["connection"] = "close"
                if "content-length" not in response.headers:
                    response.headers["transfer-encoding"] = "chunked"
        stream_live(flow)


addons = [Transparent()]
