"""Reference EventSource client: reconnects after the retry delay, resumes with Last-Event-ID.

Follows the WHATWG HTML EventSource model
(https://html.spec.whatwg.org/multipage/server-sent-events.html): a non-200 status or a
Content-Type other than text/event-stream fails the connection for good; a network error or
the end of the response reconnects after the reconnection time (the last valid `retry:`,
else the client's default, 3 s as Chromium) and sends `Last-Event-ID`. The byte stream is
parsed by gauntlet.sse.SSEParser; every dispatched event is logged as `Received` (duplicates
included: de-duplication is the metrics' job, so wire duplicates stay visible).

`run_sse_canary` adds the canary fallback: if the server's `event: canary`, sent right after
connect, has not arrived within the timeout, the session switches to long polling for good
and says so in the event log (SignalR's transport-connect timeout, Phoenix's
`longPollFallbackMs` 2500 ms; docs/field.md). Either way it logs `Settled` once it has
chosen: the cell's workload starts then (harness/topology.py), because the wait itself is a
client constant (the timeout, floored at 300 ms when scaled), not something a hop adds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import httpx
import trio

from gauntlet.clients.base import Target, http_client
from gauntlet.clients.long_poll import run_long_poll
from gauntlet.clients.policy import CHROMIUM_DEFAULT_RETRY_MS, Cursor, EventSourcePolicy
from gauntlet.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EventLog,
    Note,
    Received,
    Request,
    Settled,
    now_ns,
)
from gauntlet.sse import SSEParser


async def run_sse(
    target: Target,
    log: EventLog,
    *,
    path: str = "/sse",
    default_retry_ms: int = CHROMIUM_DEFAULT_RETRY_MS,
    cursor: Cursor | None = None,
    on_canary: Callable[[], None] | None = None,
) -> None:
    """Subscribe until cancelled or until the connection fails for good.

    The decisions (what to send, whether to reconnect, how long to wait) are
    `EventSourcePolicy`'s; this loop only does the I/O and writes the event log.
    """
    cursor = cursor if cursor is not None else Cursor()
    policy = EventSourcePolicy(
        default_retry_ms, str(cursor.resume_after) if cursor.resume_after else ""
    )
    async with http_client(target) as client:
        while True:
            conn = log.new_conn()
            log.append(Request(now_ns(), conn, "GET " + path))
            parser = SSEParser(last_event_id=policy.last_event_id)
            reason = "end of stream"
            try:
                async with client.stream(
                    "GET", target.base_url + path, headers=policy.request_headers()
                ) as resp:
                    content_type = resp.headers.get("content-type", "")
                    if not policy.accepts(resp.status_code, content_type):
                        why = f"failed for good: status {resp.status_code}, {content_type!r}"
                        log.append(Disconnected(now_ns(), conn, why))
                        return
                    log.append(Connected(now_ns(), conn, resp.http_version))
                    async for chunk in resp.aiter_bytes():
                        t = now_ns()
                        log.append(BytesReceived(t, conn, len(chunk)))
                        for event in parser.feed(chunk):
                            if event.type == "canary" and on_canary is not None:
                                on_canary()
                            elif event.last_event_id.isdigit():
                                log.append(Received(int(event.last_event_id), t, conn))
                                cursor.accept(int(event.last_event_id))
            except httpx.HTTPError as exc:
                reason = f"network error: {type(exc).__name__}"
            before_ms = policy.retry_ms
            delay_s = policy.connection_ended(parser.last_event_id, parser.retry_ms)
            if policy.retry_ms != before_ms:
                log.append(Note(now_ns(), f"sse retry set to {policy.retry_ms} ms"))
            log.append(Disconnected(now_ns(), conn, reason))
            await trio.sleep(delay_s)  # the EventSource reconnection time


async def run_sse_canary(
    target: Target,
    log: EventLog,
    *,
    canary_timeout_s: float,
    poll_wait_ms: int,
    path: str = "/sse?canary=1",
) -> None:
    """SSE while the canary arrives in time; otherwise long polling for the rest of the session."""
    cursor = Cursor()
    seen = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            partial(run_sse, target, log, path=path, cursor=cursor, on_canary=seen.set)
        )
        with trio.move_on_after(canary_timeout_s):
            await seen.wait()
        if seen.is_set():
            log.append(Note(now_ns(), "canary seen: staying on sse"))
            log.append(Settled(now_ns(), "sse"))
            await trio.sleep_forever()
        nursery.cancel_scope.cancel()
    log.append(
        Note(
            now_ns(),
            f"canary not seen within {canary_timeout_s * 1000:.0f} ms: "
            "falling back to long polling",
        )
    )
    log.append(Settled(now_ns(), "long polling"))
    await run_long_poll(target, log, cursor=cursor, wait_ms=poll_wait_ms)
