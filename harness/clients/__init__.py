"""Reference clients, one per transport, and the transport catalogue.

A transport is a server endpoint plus the client that speaks to it the way real clients do;
`TRANSPORTS` names each with a one-line description (shown by `gauntlet list`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from harness.clients.base import Target
from harness.clients.long_poll import run_long_poll
from harness.clients.sse import run_sse
from harness.clients.websocket import run_websocket
from harness.eventlog import EventLog

ClientRunner = Callable[[Target, EventLog], Awaitable[None]]


@dataclass(frozen=True)
class Transport:
    name: str
    description: str
    run: ClientRunner


TRANSPORTS: dict[str, Transport] = {
    t.name: t
    for t in [
        Transport(
            "sse",
            "Server-Sent Events: one endless chunked response, EventSource client",
            run_sse,
        ),
        Transport(
            "sse_close_each",
            "SSE that ends the response after each event; the client reconnects with "
            "Last-Event-ID (the buffering-proxy workaround)",
            partial(run_sse, path="/sse/close-each"),
        ),
        Transport(
            "long_poll",
            "long polling: each request waits for events after the client's cursor",
            run_long_poll,
        ),
        Transport(
            "websocket",
            "WebSocket: one text frame per event; reconnect with backoff and resume by id",
            run_websocket,
        ),
    ]
}

__all__ = ["TRANSPORTS", "Target", "Transport"]
