"""Hold the whole response body and send it on only when the response ends.

Chunked transfer encoding is hop-by-hop, so an intermediary may legally collect a body
before forwarding it; an SSE stream never ends, so nothing arrives (docs/field.md: one product's
users waited ~20 minutes to log in). Response headers pass at once by default, as the
content-scanning proxies that hold bodies to inspect them do; set
`store_and_forward_hold_headers` to hold headers too (mitmproxy's own default).
A filter holds only what it reads: with `store_and_forward_filtered_types_only`, responses
whose Content-Type Privoxy's filters do not read (text/plain, JSON, images) pass at once.
Measured through Debian's Privoxy 3.0.34 with its defaults (raw sockets, headers sent at
once, body in two parts 300 ms apart): text/event-stream, text/html, text/css,
application/xml and application/javascript arrive whole, headers included, when the body
ends; text/plain and application/json stream as they come, chunked or not
(harness/real/templates/privoxy-defaults.conf; scenarios/fidelity/pairs.toml compares them).
Imitates: old corporate proxies, Sophos-class antivirus web filters, Privoxy with its
default filters (with both options set). The others are commercial: not compared.
Source: RFC 9112 §7.1 (chunked is hop-by-hop); HTML Living Standard §9.2.8
("chunking ... can have a negative effect on the reliability of this protocol"); Privoxy
user manual, actions file: `filter`, `force-text-mode` (filters read text documents only).
"""

from __future__ import annotations

from mitmproxy import ctx, http

from gauntlet.proxies._body import HOLD_WHOLE_RESPONSE, add_body_filter


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


def privoxy_filters(content_type: str) -> bool:
    """Whether Privoxy's default filters read (and so hold) a body of this Content-Type:
    text/* but text/plain, and anything xml or script (measured, see the docstring)."""
    ct = content_type.lower()
    return ("text/" in ct and "plain" not in ct) or "xml" in ct or "script" in ct


class StoreAndForward:  # pragma: no mutate block (mitmproxy hooks: tests/proxies, taddons)
    def load(self, loader) -> None:
        loader.add_option(
            "store_and_forward_hold_headers",
            bool,
            False,
            "Hold the response headers too, not only the body (mitmproxy's default buffering).",
        )
        loader.add_option(
            "store_and_forward_filtered_types_only",
            bool,
            False,
            "Hold only Content-Types Privoxy's filters read; stream the others.",
        )

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        if ctx.options.store_and_forward_filtered_types_only and not privoxy_filters(
            flow.response.headers.get("content-type", "")
        ):
            return  # not filtered: the baseline streams it
        if ctx.options.store_and_forward_hold_headers:
            flow.metadata[HOLD_WHOLE_RESPONSE] = True  # mitmproxy reads the whole response
            return
        add_body_filter(flow, HoldBody())


addons = [StoreAndForward()]
