"""Hold the whole response body and send it on only when the response ends.

Chunked transfer encoding is hop-by-hop, so an intermediary may legally collect a body
before forwarding it; an SSE stream never ends, so nothing arrives (docs/field.md: one product's
users waited ~20 minutes to log in). Response headers pass at once by default, as the
content-scanning proxies that hold bodies to inspect them do; set
`store_and_forward_hold_headers` to hold headers too (mitmproxy's own default).
Imitates: old corporate proxies, Sophos-class antivirus web filters, Privoxy with its
default filters.
Privoxy installs here but is not compared yet; the others are commercial.
Source: RFC 9112 §7.1 (chunked is hop-by-hop); HTML Living Standard §9.2.8
("chunking ... can have a negative effect on the reliability of this protocol").
"""

from __future__ import annotations

from mitmproxy import ctx, http

from proxies._body import HOLD_WHOLE_RESPONSE, add_body_filter


class HoldBody:
    """A body filter that releases everything it holds only at the end of the body."""

    def __init__(self) -> None:
        self.held = bytearray()

    def __call__(self, chunk: bytes) -> list[bytes]:
        if chunk:
            self.held += chunk
            return []
        body, self.held = bytes(self.held), bytearray()
        return [body]


class StoreAndForward:  # pragma: no mutate block (mitmproxy hooks: tests/proxies, taddons)
    def load(self, loader) -> None:
        loader.add_option(
            "store_and_forward_hold_headers",
            bool,
            False,
            "Hold the response headers too, not only the body (mitmproxy's default buffering).",
        )

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if ctx.options.store_and_forward_hold_headers:
            flow.metadata[HOLD_WHOLE_RESPONSE] = True  # mitmproxy reads the whole response
            return
        add_body_filter(flow, HoldBody())


addons = [StoreAndForward()]
