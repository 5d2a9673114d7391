"""Hold response body bytes until a block of N bytes is full, then forward the block.

The rest is flushed when the response ends. A push stream whose events are smaller than
the block waits until enough events pile up. With `size_buffer_mode=threshold` the hop
holds only until the first N bytes, then streams (compression middlewares' minimum size,
mitmproxy's `stream_large_bodies`): a padding prelude (SockJS's 2 KiB) defeats that kind,
and nothing defeats the block kind but ending the response. Like nginx's buffering, a response
whose upstream sends `X-Accel-Buffering: no` is not held (`size_buffer_honour_x_accel`, on;
Traefik's and Caddy's compressors ignore the header: set it off for those).
Imitates: buffering intermediaries that release fixed-size blocks (the body half of nginx's
buffering; nginx itself, headers held and HTTP/1.0 upstream, is `nginx_defaults`), and in
threshold mode compression middlewares' minimum size (Node `compression`: 1 KiB) and
mitmproxy's `stream_large_bodies`. No installable counterpart is started for the block kind
as such; nginx_defaults is the one compared with a real device. Source: nginx docs,
ngx_http_proxy_module `proxy_buffering` ("Buffering can also be enabled or disabled by passing
yes or no in the X-Accel-Buffering response header"); expressjs/compression README
(`threshold`, default 1kb); mitmproxy docs `stream_large_bodies`; docs/field.md "size-threshold
buffering".
"""

from __future__ import annotations

from mitmproxy import ctx, exceptions, http

from gauntlet.proxies._body import add_body_filter

MODES = ("blocks", "threshold")


class BlockBuffer:
    """A body filter releasing whole blocks of `block_bytes`, the remainder at the end.

    With `threshold`, everything streams once the first block has been released."""

    def __init__(self, block_bytes: int, threshold: bool = False) -> None:
        self.block_bytes = block_bytes
        self.threshold = threshold
        self.streaming = False
        self.held = bytearray()

    def __call__(self, chunk: bytes) -> list[bytes]:
        if self.streaming:
            return [chunk]
        if not chunk:
            rest, self.held = bytes(self.held), bytearray()
            return [rest]
        self.held += chunk
        full = len(self.held) - len(self.held) % self.block_bytes
        size = self.block_bytes
        blocks = [bytes(self.held[i : i + size]) for i in range(0, full, size)]
        del self.held[:full]
        if self.threshold and blocks:
            self.streaming = True
            blocks.append(bytes(self.held))
            self.held.clear()
        return blocks


class SizeBuffer:  # pragma: no mutate block (mitmproxy hooks: tests/proxies, taddons)
    def load(self, loader) -> None:
        loader.add_option("size_buffer_bytes", int, 4096, "Block size in bytes (nginx: 4096).")
        loader.add_option(
            "size_buffer_mode",
            str,
            "blocks",
            "blocks: forward each full block; threshold: hold only the first.",
        )
        loader.add_option(
            "size_buffer_honour_x_accel",
            bool,
            True,
            "Stream responses whose upstream sent X-Accel-Buffering: no (nginx).",
        )

    def configure(self, updates) -> None:
        if "size_buffer_bytes" in updates and ctx.options.size_buffer_bytes < 1:
            raise exceptions.OptionsError("size_buffer_bytes must be >= 1")
        if "size_buffer_mode" in updates and ctx.options.size_buffer_mode not in MODES:
            raise exceptions.OptionsError(f"size_buffer_mode must be one of {MODES}")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        opted_out = flow.response.headers.get("x-accel-buffering", "").lower() == "no"
        if opted_out and ctx.options.size_buffer_honour_x_accel:
            return  # unbuffered, as nginx: _baseline streams it chunk by chunk
        if flow.response.status_code != 101:
            threshold = ctx.options.size_buffer_mode == "threshold"
            add_body_filter(flow, BlockBuffer(ctx.options.size_buffer_bytes, threshold))


addons = [SizeBuffer()]
