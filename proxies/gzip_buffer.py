"""Gzip text responses, event streams included, so bytes wait inside the compressor.

A streaming compressor only emits output when its internal window fills (tens of KiB for
zlib at its default settings), so small events sit in it until the response ends. Some
compressors skip responses marked `Cache-Control: no-transform`, some do not; the option
says which kind this hop is.
Imitates: compression middlewares that keep a window of output before they emit, such as
Node's `compression` (Express) when the app never calls `res.flush()`. Not nginx: with
`proxy_buffering off` its gzip flushes each write (`gzip_flush`), and with buffering on it
holds the stream anyway (`nginx_defaults`). No installable counterpart here (an npm
package, not a Debian one; Gauntlet does not start it). Source: expressjs/compression README
"Server-Sent Events" ("a window of the output needs to be buffered up ... call res.flush()");
its no-transform rule (RFC 9111 §5.2.2.6); docs/field.md "compression buffering".
"""

from __future__ import annotations

import zlib

from mitmproxy import ctx, http

from gauntlet.proxies._body import add_body_filter

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
        loader.add_option(
            "gzip_buffer_honour_no_transform",
            bool,
            True,
            "Leave responses with Cache-Control: no-transform uncompressed.",
        )
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
