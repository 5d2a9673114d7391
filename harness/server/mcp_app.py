"""MCP Streamable HTTP (revision 2025-11-25) at `/mcp`, served by the official `mcp` SDK.

The Model Context Protocol's Streamable HTTP transport, revision 2025-11-25
(modelcontextprotocol.io/specification/2025-11-25/basic/transports): one endpoint; JSON-RPC
requests are POSTed and the response is JSON or an SSE stream; a GET opens a stream for
server-initiated messages; a session id travels in `Mcp-Session-Id`. Resumption: a server
MAY attach an `id` to each SSE event; a client resumes a broken stream by GET with
`Last-Event-ID`, and the server replays the events after it *on the stream that was cut*,
whether that stream began as a POST response or as the GET stream. 2025-11-25 adds that the
server SHOULD open every stream with a priming event (an id and empty data) and MAY send
`retry`, so a client can resume even a stream cut before its first message.

The SDK's `StreamableHTTPSessionManager` does all of that (priming events, retry, replay
from an `EventStore`); it runs on anyio, which runs on trio, so it lives inside hypercorn's
trio worker beside the other endpoints. Its task group runs for the server's lifetime
(`running()`, entered by the app's ASGI lifespan).

One tool, `answer`: it streams a progress notification per published event on the POST's
SSE stream (`progress` = the publisher's event id, so the client can record `Received`),
and returns its result after the workload's last event (`answer_events`); it announces
start and end as log messages on the GET stream (server-initiated, no related request).
A silent stretch of the workload is a long tool call with no progress.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from gauntlet.server.optout import sse_headers
from gauntlet.server.publisher import Publisher

MCP_PATH = "/mcp"
REVISION = "2025-11-25"
TOOL = "answer"


class MemoryEventStore(EventStore):
    """Every SSE event of every stream, in order, for replay after `Last-Event-ID`.

    Ids are one counter across streams (`1`, `2`, ...), so an id names its stream too, as
    the revision requires ("event IDs ... unique across all streams within that session")."""

    def __init__(self) -> None:
        self.events: list[tuple[EventId, StreamId, types.JSONRPCMessage | None]] = []

    async def store_event(
        self, stream_id: StreamId, message: types.JSONRPCMessage | None
    ) -> EventId:
        event_id = str(len(self.events) + 1)
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        index = next((i for i, e in enumerate(self.events) if e[0] == last_event_id), None)
        if index is None:
            return None
        stream_id = self.events[index][1]
        for event_id, sid, message in self.events[index + 1 :]:
            if sid == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


class MCPEndpoint:
    """The SDK's low-level server with the `answer` tool, behind its session manager."""

    def __init__(
        self, publisher: Publisher, answer_events: int, retry_ms: int, opt_out: str = "none"
    ) -> None:
        self.publisher = publisher
        self.opt_out = opt_out
        self.answer_events = answer_events
        self.server: Server[Any, Any] = Server("gauntlet-reference")
        self.server.list_tools()(self._list_tools)
        self.server.call_tool(validate_input=False)(self._call_tool)
        self.manager = StreamableHTTPSessionManager(
            self.server, event_store=MemoryEventStore(), retry_interval=retry_ms
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def __call__(self, scope, receive, send) -> None:
        """The SDK's response, its event streams' anti-buffering headers set by `opt_out`
        (the SDK itself sends both, `X-Accel-Buffering: no` and `no-cache, no-transform`)."""

        async def send_with_opt_out(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {b"x-accel-buffering", b"cache-control", b"content-type"}
                if dict(headers).get(b"content-type", b"").startswith(b"text/event-stream"):
                    kept = [(k, v) for k, v in headers if k.lower() not in names]
                    message = {**message, "headers": kept + sse_headers(self.opt_out)}
            await send(message)

        await self.manager.handle_request(scope, receive, send_with_opt_out)

    async def _list_tools(self) -> list[types.Tool]:
        return [
            types.Tool(
                name=TOOL,
                description="streams progress, then answers",
                inputSchema={"type": "object"},
            )
        ]

    async def _call_tool(self, name: str, arguments: dict) -> list[types.TextContent]:
        ctx = self.server.request_context
        token = ctx.meta.progressToken if ctx.meta else None
        self.publisher.first_request.set()  # the workload starts with the tool call
        await ctx.session.send_log_message("info", f"{TOOL} started")  # on the GET stream
        cursor, last = 0, self.answer_events
        while not last or cursor < last:
            for event in await self.publisher.wait_after(cursor):
                if last and event.id > last:
                    break
                cursor = event.id
                if token is not None:
                    await ctx.session.send_progress_notification(
                        token,
                        progress=event.id,
                        total=last or None,
                        related_request_id=str(ctx.request_id),
                    )
        await ctx.session.send_log_message("info", f"{TOOL} finished after {cursor} events")
        return [types.TextContent(type="text", text=f"done: {cursor} events")]
