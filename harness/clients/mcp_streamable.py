"""MCP client: the official `mcp` SDK's Streamable HTTP client calling one long tool.

`streamable_http_client` + `ClientSession`, as MCP hosts use them: initialize (the SDK then
opens the GET listening stream for server-initiated messages), call the server's `answer`
tool with a progress callback, read its result. Each progress notification carries the
publisher's event id as its `progress`, so it is logged as `Received`; the tool's result is
the answer's end marker (`EndOfAnswer`). The SDK resumes a cut stream by GET with
`Last-Event-ID` after the server's `retry` (revision 2025-11-25; harness/server/mcp_app.py):
its own HTTP client is ours, with request/response hooks that log every request (a
resumption's kind names the `Last-Event-ID` it sent) and every event-stream response, so the
cut and the resumption show in the event log. Loopback only: no environment proxy, no keys.
"""

from __future__ import annotations

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from gauntlet.clients.base import DEFAULT_CONNECT_TIMEOUT_S, Target
from gauntlet.eventlog import (
    Connected,
    Disconnected,
    EndOfAnswer,
    EventLog,
    Note,
    Received,
    Request,
    now_ns,
)
from gauntlet.server.mcp_app import MCP_PATH, TOOL

RESUME = "Last-Event-ID"


def request_kind(method: str, headers: httpx.Headers) -> str:
    """How a request is logged: a resumption names the event id it resumes after (pure)."""
    kind = f"{method} {MCP_PATH}"
    if RESUME.lower() in headers:
        kind += f" {RESUME}: {headers[RESUME]}"
    return kind


async def run_mcp_streamable(target: Target, log: EventLog) -> None:
    """One MCP session: initialize, call the long tool, read its result; then return."""
    session_conn = log.new_conn()
    conns: dict[int, int] = {}

    async def on_request(request: httpx.Request) -> None:
        conns[id(request)] = conn = log.new_conn()
        log.append(Request(now_ns(), conn, request_kind(request.method, request.headers)))

    async def on_response(response: httpx.Response) -> None:
        conn = conns.pop(id(response.request), session_conn)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            log.append(Connected(now_ns(), conn, response.http_version))

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        log.append(Received(int(progress), now_ns(), session_conn))

    async def on_log(params) -> None:
        log.append(Note(now_ns(), f"mcp server message (GET stream): {params.data}"))

    http = httpx.AsyncClient(
        proxy=target.forward_proxy,
        http2=target.http2,
        verify=target.ssl_context() or True,
        trust_env=False,
        timeout=httpx.Timeout(DEFAULT_CONNECT_TIMEOUT_S, read=None),
        event_hooks={"request": [on_request], "response": [on_response]},
    )
    reason = "tool call ended without a result"
    try:
        async with (
            http,
            streamable_http_client(target.base_url + MCP_PATH, http_client=http) as (
                read,
                write,
                _,
            ),
            ClientSession(read, write, logging_callback=on_log) as session,
        ):
            await session.initialize()
            result = await session.call_tool(TOOL, {}, progress_callback=on_progress)
            if not result.isError:
                log.append(EndOfAnswer(now_ns(), session_conn))
                reason = "tool result arrived"
    except* httpx.TransportError as group:
        # What a hop did to the connection (closed it mid-response, refused it) ends the
        # SDK's session: a finding about the path, not a crash of the harness's client.
        first = group.exceptions[0]
        reason = f"the SDK gave up: {type(first).__name__}: {first}"
    log.append(Disconnected(now_ns(), session_conn, reason))
