"""Shared plumbing for behaviours that reshape a streamed response body.

mitmproxy buffers every body unless `flow.response.stream` is set (docs/mitmproxy.md). A stream
callable is called once per received chunk and once with b"" at the end; it returns the
chunks to send on, and returning [] holds bytes. Several behaviours may stack in one hop, so
each adds a filter to one `BodyPipeline` instead of overwriting the callable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mitmproxy import http

BodyFilter = Callable[[bytes], Iterable[bytes]]
"""Takes one chunk (b"" means end of body), returns the chunks to pass on (b"" never)."""


class BodyPipeline:
    """Runs a chunk through each filter in turn; the end marker b"" reaches every filter."""

    def __init__(self) -> None:
        self.filters: list[BodyFilter] = []

    def __call__(self, chunk: bytes) -> list[bytes]:
        end = chunk == b""
        chunks = [chunk] if chunk else []
        for body_filter in self.filters:
            out: list[bytes] = []
            for c in chunks:
                out.extend(x for x in body_filter(c) if x)
            if end:  # the end of the body reaches every filter, so each can flush
                out.extend(x for x in body_filter(b"") if x)
            chunks = out
        return chunks


HOLD_WHOLE_RESPONSE = "gauntlet_hold_whole_response"
"""Flow metadata flag: leave mitmproxy's own buffering (headers and body) in place."""


def add_body_filter(flow: http.HTTPFlow, body_filter: BodyFilter) -> None:
    """Stream this response through `body_filter` (after any filter already added)."""
    assert flow.response is not None
    if flow.response.status_code == 101:  # a WebSocket upgrade has no body
        return
    if not isinstance(flow.response.stream, BodyPipeline):
        flow.response.stream = BodyPipeline()
    flow.response.stream.filters.append(body_filter)


def stream_live(flow: http.HTTPFlow) -> None:
    """Relay this response's body chunk by chunk, unless a behaviour already shapes it."""
    assert flow.response is not None
    if flow.metadata.get(HOLD_WHOLE_RESPONSE) or flow.response.status_code == 101:
        return
    if not flow.response.stream:
        flow.response.stream = True
