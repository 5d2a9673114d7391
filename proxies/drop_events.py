"""Drop a seeded, known set of whole events (SSE frames, WebSocket messages) from the stream.

Which events go is a pure function of (seed, event id, per-mille), `drops()`, not of TCP
chunking or timing, so a test can compute the exact set independently and check that the
harness reports exactly that loss: this behaviour is an instrument check as much as a
device. SSE frames are cut out of the streamed body whole (a frame split across chunks is
held until its blank line arrives; frames without an `id:` always pass); WebSocket
messages from the server are dropped in `websocket_message`. Long-poll JSON is not touched.
Imitates: content filters and gateways that silently strip messages they reject from a
live stream (DLP / WAF message rules), and loss that no transport retransmits.
No installable counterpart: DLP/WAF message rules are commercial products.
Source:
Toxiproxy README "Toxics" (reset_peer, limit_data: loss at the byte level; here at the
event level so it is countable); docs/mitmproxy.md "Protocols" (drop messages in websocket_message).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from mitmproxy import ctx, http

from gauntlet.proxies._body import add_body_filter

FRAME_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def drops(seed: int, event_id: int, per_mille: int) -> bool:
    """Whether event `event_id` is dropped: a hash of (seed, id), uniform in 0..999."""
    digest = hashlib.blake2b(f"{seed}:{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 1000 < per_mille


def frame_id(frame: bytes) -> int | None:
    """The numeric `id:` field of one SSE frame, if any."""
    for line in re.split(rb"\r\n|\n|\r", frame):
        if line.startswith(b"id:"):
            value = line[3:].removeprefix(b" ")
            return int(value) if value.isdigit() else None
    return None


class FrameDropper:
    """A body filter: passes whole SSE frames on, except the ones `drops()` chooses."""

    def __init__(self, seed: int, per_mille: int) -> None:
        self.seed, self.per_mille = seed, per_mille
        self.partial = b""

    def __call__(self, chunk: bytes) -> Iterable[bytes]:
        if not chunk:  # end of body: whatever is left is an unterminated frame
            rest, self.partial = self.partial, b""
            return [rest]
        data, out, start = self.partial + chunk, [], 0
        for end in FRAME_END.finditer(data):
            frame = data[start : end.end()]
            event_id = frame_id(frame)
            if event_id is None or not drops(self.seed, event_id, self.per_mille):
                out.append(frame)
            start = end.end()
        self.partial = data[start:]
        return [b"".join(out)]


class DropEvents:  # pragma: no mutate block (mitmproxy hooks: tests/proxies, taddons)
    def load(self, loader) -> None:
        loader.add_option(
            "drop_events_per_mille",
            int,
            100,
            "Share of events dropped, in 1/1000 (chosen by id, see drops()).",
        )
        loader.add_option(
            "drop_events_seed",
            int,
            3,
            "Seed of the choice of dropped ids (3 drops ids 1, 2 and 8 of 1-15).",
        )

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        if flow.response.headers.get("content-type", "").startswith("text/event-stream"):
            o = ctx.options
            add_body_filter(flow, FrameDropper(o.drop_events_seed, o.drop_events_per_mille))

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        if message.from_client:
            return
        try:
            event_id = json.loads(message.content)["id"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(event_id, int) and drops(
            ctx.options.drop_events_seed, event_id, ctx.options.drop_events_per_mille
        ):
            message.drop()


addons = [DropEvents()]
