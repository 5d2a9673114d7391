"""The reference push server: one ASGI app, one endpoint per transport, one event log behind all.

Endpoints (all resume from an id; ids are the publisher's sequence numbers):

- `GET /sse`            text/event-stream, one endless response, chunked (no Content-Length).
                        Resumes from `Last-Event-ID` (EventSource) or `?after=`.
                        Query options (`SSEPlan`): `heartbeat_ms` (comment lines when quiet),
                        `pad` (a comment prelude of that many bytes, SockJS's 2 KiB),
                        `canary=1` (an `event: canary` right after connect), `close=` one of
                        `each` | `adaptive` (each, only when the server's peer speaks HTTP/1.x)
                        | `bytes` (after `close_after_bytes`, SockJS's 128 KiB budget).
- `GET /sse/close-each` as `/sse?close=each`: ends the response after each write of the events
                        available (one event, or the small batch that queued up), so a
                        store-and-forward hop flushes; the client reconnects with
                        `Last-Event-ID` (docs/field.md: "close the SSE response after every event").
- `GET /poll?after=N`   long poll: waits up to `wait_ms` (default `long_poll_timeout_ms`) for
                        events after N, returns them all as JSON (`{"events": [...]}`, possibly
                        empty). `wait_ms=0` is a short poll.
- `WS  /ws?after=N`     WebSocket: one text frame per event, JSON.
- `POST /v1/chat/completions` an OpenAI-compatible streamed chat completion, one token per
                        event (harness/server/llm.py).
- `POST|GET|DELETE /mcp` MCP Streamable HTTP, revision 2025-11-25, by the official SDK
                        (harness/server/mcp_app.py).
- `GET /_gauntlet/health` 200 `ok`: the harness's health check through a chain before the
                        workload (harness/health.py). Counted in `health_requests`, not logged
                        as a `ServerRequest` and not a client's first request, so it leaves no
                        trace in a cell's measurements.
- `GET /browser/page`   the browser client's page (harness/server/browser_page.py); not a
                        subscription, so it does not start the workload.

Every request is logged as `ServerRequest` with the HTTP version the server saw, so a hop that
downgrades HTTP/2 to HTTP/1.1 shows in the event log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs

import trio

from gauntlet.eventlog import EventLog, ServerRequest, now_ns
from gauntlet.server.browser_page import PAGE_PATH, page_bytes
from gauntlet.server.llm import CHAT_COMPLETIONS_PATH, chat_completions
from gauntlet.server.mcp_app import MCP_PATH, MCPEndpoint
from gauntlet.server.optout import sse_headers
from gauntlet.server.publisher import Publisher, PushEvent

HEALTH_PATH = "/_gauntlet/health"
MAX_PAD_BYTES = 64 * 1024  # SockJS pads 2 KiB; a query asking for a GB must not allocate it
MIN_HEARTBEAT_MS = 10  # the shortest heartbeat a scenario asks for is SockJS's 25 s / 1000
MAX_POLL_WAIT_MS = 120_000
MAX_NUMBER_DIGITS = 12
"""Bounds on what a query string may ask of the server: measured by
tests/e2e/test_server_hostile.py, `?pad=999999999&heartbeat_ms=1` from one client took the
other subscribers' p99 from 1 ms to 15 s."""
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


@dataclass(frozen=True)
class ServerOptions:
    """Knobs of the reference server that a scenario may set.

    `retry_ms` is sent as the SSE `retry:` field on every stream: Chromium's default of a
    constant 3 s (docs/field.md) would make close-after-event SSE useless, so servers that close
    send a small value. `long_poll_timeout_ms` is how long a poll waits before answering empty.
    """

    retry_ms: int = 50
    long_poll_timeout_ms: int = 10_000
    sse_opt_out: str = "none"
    """Anti-buffering headers on every event stream (harness/server/optout.py)."""
    answer_events: int = 0
    """Events in one LLM answer or MCP tool call (the workload's count); 0: never ends."""


@dataclass(frozen=True)
class SSEPlan:
    """How one SSE response behaves, from its query string (pure, unit-tested)."""

    close: str = "never"  # never | each | adaptive | bytes
    close_after_bytes: int = 0
    heartbeat_ms: int = 0
    pad_bytes: int = 0
    canary: bool = False

    @classmethod
    def from_query(cls, query: dict[str, str], *, close_each: bool = False) -> SSEPlan:
        def number(name: str) -> int:
            value = query.get(name, "0")
            return int(value) if value.isdigit() and len(value) <= MAX_NUMBER_DIGITS else 0

        close = "each" if close_each else query.get("close", "never")
        if close not in ("never", "each", "adaptive", "bytes"):
            close = "never"
        heartbeat_ms = number("heartbeat_ms") and max(MIN_HEARTBEAT_MS, number("heartbeat_ms"))
        return cls(
            close,
            number("close_after_bytes"),
            heartbeat_ms,
            min(number("pad"), MAX_PAD_BYTES),
            query.get("canary") == "1",
        )

    def closes_after_write(self, http_version: str, bytes_sent: int) -> bool:
        """Whether to end the response after a write of events."""
        if self.close == "each":
            return True
        if self.close == "adaptive":  # the practitioners' heuristic: h1 peers get closes
            return not http_version.startswith("2")
        return self.close == "bytes" and bytes_sent >= self.close_after_bytes

    def prelude(self, retry_ms: int) -> bytes:
        out = f"retry: {retry_ms}\n\n".encode()
        if self.pad_bytes:
            out += b":" + b" " * max(0, self.pad_bytes - 3) + b"\n\n"
        if self.canary:
            out += b"event: canary\ndata: hello\n\n"
        return out


def sse_frame(event: PushEvent) -> bytes:
    return f"id: {event.id}\ndata: {event.payload}\n\n".encode()


def ws_text(event: PushEvent) -> str:
    return json.dumps({"id": event.id, "data": event.payload})


class EncodedEvents:
    """Each event's wire form, encoded once per server instead of once per subscriber.

    A fan-out to N subscribers used to encode the same event N times (an f-string and
    `.encode()` per SSE stream, a `json.dumps` per WebSocket). Ids are unique per publisher
    (strictly increasing, never reused), so the id is the key; the bytes sent are the same."""

    def __init__(self) -> None:
        self._sse: dict[int, bytes] = {}
        self._ws: dict[int, str] = {}

    def sse(self, events: list[PushEvent]) -> bytes:
        """The SSE frames of `events`, in order (one event: its cached frame itself)."""
        frames = []
        for e in events:
            frame = self._sse.get(e.id)
            if frame is None:
                frame = self._sse[e.id] = sse_frame(e)
            frames.append(frame)
        return frames[0] if len(frames) == 1 else b"".join(frames)

    def ws(self, event: PushEvent) -> str:
        text = self._ws.get(event.id)
        if text is None:
            text = self._ws[event.id] = ws_text(event)
        return text


def _query(scope: dict) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}


def _last_event_id(scope: dict) -> str:
    """The `Last-Event-ID` header as it arrived, "" when absent (what the client resumed from)."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"last-event-id":
            return value.decode(errors="replace")
    return ""


def _cursor(scope: dict) -> int:
    """Resume point: `Last-Event-ID` header wins (EventSource sends it), else `?after=`."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"last-event-id":
            try:
                return int(value.decode())
            except ValueError:
                return 0
    try:
        return int(_query(scope).get("after", "0"))
    except ValueError:
        return 0


class PushApp:
    """ASGI application. Stateless apart from the publisher it reads."""

    def __init__(self, publisher: Publisher, log: EventLog, options: ServerOptions) -> None:
        self.publisher = publisher
        self.log = log
        self.options = options
        self.mcp = MCPEndpoint(
            publisher, options.answer_events, options.retry_ms, options.sse_opt_out
        )
        self.health_requests = 0
        self.encoded = EncodedEvents()

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH:
            self.health_requests += 1
            await _plain(send, 200, b"ok\n")
            return
        version = scope.get("http_version", "1.1")
        self.log.append(
            ServerRequest(now_ns(), scope["path"], f"HTTP/{version}", _last_event_id(scope))
        )
        path = scope["path"]
        if scope["type"] == "http" and path == PAGE_PATH:  # a browser client's page: not a
            await _plain(send, 200, page_bytes(), content_type=b"text/html")  # subscription
            return
        if path != MCP_PATH:  # an MCP session starts its workload with its tool call
            self.publisher.first_request.set()
        if scope["type"] == "websocket" and path == "/ws":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http" and path == "/sse":
            await self._sse(scope, receive, send, close_each=False)
        elif scope["type"] == "http" and path == "/sse/close-each":
            await self._sse(scope, receive, send, close_each=True)
        elif scope["type"] == "http" and path == "/poll":
            await self._poll(scope, receive, send)
        elif scope["type"] == "http" and path == CHAT_COMPLETIONS_PATH:
            await chat_completions(self.publisher, self.options, scope, receive, send)
        elif scope["type"] == "http" and path == MCP_PATH:
            await self.mcp(scope, receive, send)
        elif scope["type"] == "http":
            await _plain(send, 404, b"unknown endpoint\n")
        else:
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive, send) -> None:
        async with self.mcp.running():  # the MCP SDK's task group lives as long as the server
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _sse(self, scope, receive, send, *, close_each: bool) -> None:
        cursor = _cursor(scope)
        plan = SSEPlan.from_query(_query(scope), close_each=close_each)
        version = scope.get("http_version", "1.1")
        if version == "1.0" and plan.closes_after_write(version, 0):
            await self._sse_http10_batch(scope, receive, send, plan, cursor)
            return
        headers = sse_headers(self.options.sse_opt_out)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        prelude = plan.prelude(self.options.retry_ms)
        await send({"type": "http.response.body", "body": prelude, "more_body": True})
        sent = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            while True:
                events = None
                if plan.heartbeat_ms:  # a cancel scope per wait only where it can fire
                    with trio.move_on_after(plan.heartbeat_ms / 1000):
                        events = await self.publisher.wait_after(cursor)
                else:
                    events = await self.publisher.wait_after(cursor)
                if events is None:  # quiet for a heartbeat interval: a comment keeps it alive
                    await send({"type": "http.response.body", "body": b":\n\n", "more_body": True})
                    continue
                cursor = events[-1].id
                body = self.encoded.sse(events)
                sent += len(body)
                last = plan.closes_after_write(version, sent)
                await send({"type": "http.response.body", "body": body, "more_body": not last})
                if last:
                    break
            nursery.cancel_scope.cancel()

    async def _sse_http10_batch(self, scope, receive, send, plan: SSEPlan, cursor: int) -> None:
        """An HTTP/1.0 peer cannot take chunks, and hypercorn 0.18 does not close a
        close-delimited HTTP/1.0 response, so the batch goes out with a Content-Length."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            events = await self.publisher.wait_after(cursor)
            body = plan.prelude(self.options.retry_ms) + self.encoded.sse(events)
            length = (b"content-length", str(len(body)).encode())
            headers = [*sse_headers(self.options.sse_opt_out), length]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            nursery.cancel_scope.cancel()

    async def _poll(self, scope, receive, send) -> None:
        cursor = _cursor(scope)
        wait = _query(scope).get("wait_ms", "")
        wait_ms = (
            min(int(wait), MAX_POLL_WAIT_MS)
            if wait.isdigit() and len(wait) <= MAX_NUMBER_DIGITS
            else self.options.long_poll_timeout_ms
        )
        events: list[PushEvent] = self.publisher.after(cursor)
        if not events and wait_ms > 0:
            with trio.move_on_after(wait_ms / 1000):
                events = await self.publisher.wait_after(cursor)
        body = json.dumps({"events": [{"id": e.id, "data": e.payload} for e in events]})
        await _plain(send, 200, body.encode(), content_type=b"application/json")

    async def _websocket(self, scope, receive, send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        cursor = _cursor(scope)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            while True:
                for event in await self.publisher.wait_after(cursor):
                    await send({"type": "websocket.send", "text": self.encoded.ws(event)})
                    cursor = event.id


async def _cancel_on_disconnect(receive, scope: trio.CancelScope) -> None:
    """Stop a push loop as soon as the client (or the hop in front) goes away."""
    while True:
        message = await receive()
        if message["type"] in ("http.disconnect", "websocket.disconnect"):
            scope.cancel()
            return


async def _plain(send, status: int, body: bytes, content_type: bytes = b"text/plain") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
