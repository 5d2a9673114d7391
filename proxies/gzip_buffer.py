"""Gzip text responses, event streams included, so bytes wait inside the compressor.

A streaming compressor only emits output when its internal window fills (tens of KiB for
zlib at its default settings), so small events sit in it until the response ends. Some
compressors skip responses marked `Cache-Control: no-transform`, some do not; the option
says which kind this hop is. Off by default, as nginx: ngx_http_gzip_module has no
no-transform condition (its only Cache-Control conditions, in `gzip_proxied`, concern requests
that came through a proxy), while Express's `compression` middleware skips no-transform
responses (its README: "will never compress responses that include a Cache-Control header
with the no-transform directive"). `X-Accel-Buffering` is not this hop's business.
Imitates: nginx `gzip on` with `gzip_types text/event-stream`, Traefik compress, Caddy encode,
compression middlewares. Source: FIELD.md "compression buffering"; RFC 9111 §5.2.2.6
(no-transform); nginx docs, ngx_http_gzip_module; expressjs/compression README.
"""

from __future__ import annotations

import zlib

from mitmproxy import ctx, http

from proxies._body import add_body_filter

COMPRESSIBLE = ("text/", "application/json", "application/javascript")


class GzipStream:
    """A body filter: gzip without flushing; what zlib emits goes on, the rest at the end."""

    def __init__(self, level: int) -> None:
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def __call__(self, chunk: bytes) -> list[bytes]:
        if chunk:
            return [self.compressor.compress(chunk)]
        return [self.compressor.flush(zlib.Z_FINISH)]


class GzipBuffer:  # pragma: no mutate block (mitmproxy hooks: tests/proxies, taddons)
    def load(self, loader) -> None:
        loader.add_option("gzip_buffer_honour_no_transform", bool, False,
                          "Leave responses with Cache-Control: no-transform uncompressed.")
        loader.add_option("gzip_buffer_level", int, 6, "zlib compression level, 1..9.")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200 or "content-encoding" in response.headers:
            return
        if not content_type.startswith(COMPRESSIBLE):
            return
        if "gzip" not in flow.request.headers.get("accept-encoding", ""):
            return
        no_transform = "no-transform" in response.headers.get("cache-control", "")
        if no_transform and ctx.options.gzip_buffer_honour_no_transform:
            return
        response.headers["content-encoding"] = "gzip"
        response.headers.pop("content-length", None)
        add_body_filter(flow, GzipStream(ctx.options.gzip_buffer_level))


addons = [GzipBuffer()]
