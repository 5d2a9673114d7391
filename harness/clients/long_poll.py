"""Reference polling clients: long polling, and short polling every P seconds.

Long polling always gets through a buffering proxy, because every response ends (FIELD.md);
its cost is one request per batch, which `requests` in the metrics makes visible. Short
polling asks every `interval_s` whether or not anything happened: latency up to P and empty
requests. A failed poll backs off exponentially; a subscription counts as (re)connected on
the first poll that succeeds after a failure, so `reconnects` means recoveries, not polls.
"""

from __future__ import annotations

import httpx
import trio

from harness.clients.base import Target, http_client
from harness.clients.policy import Backoff, Cursor
from harness.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EventLog,
    Received,
    Request,
    now_ns,
)


async def run_long_poll(
    target: Target, log: EventLog, *, path: str = "/poll", cursor: Cursor | None = None,
    wait_ms: int | None = None, interval_s: float = 0.0,
) -> None:  # fmt: skip
    """Poll until cancelled: at once after each answer, or every `interval_s` (short poll)."""
    cursor = cursor if cursor is not None else Cursor()
    backoff = Backoff()
    conn = log.new_conn()
    connected = False
    next_poll = trio.current_time()
    async with http_client(target) as client:
        while True:
            if interval_s:
                await trio.sleep_until(next_poll)  # the short-poll cadence
                next_poll = max(next_poll + interval_s, trio.current_time())
            params = {"after": cursor.resume_after}
            if wait_ms is not None:
                params["wait_ms"] = wait_ms
            log.append(Request(now_ns(), conn, "GET " + path))
            try:
                resp = await client.get(target.base_url + path, params=params)
                resp.raise_for_status()
                body = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                if connected:
                    log.append(Disconnected(now_ns(), conn, f"poll failed: {type(exc).__name__}"))
                    conn, connected = log.new_conn(), False
                await trio.sleep(backoff.next_delay())
                continue
            t = now_ns()
            backoff.reset()
            if not connected:
                log.append(Connected(t, conn, resp.http_version))
                connected = True
            log.append(BytesReceived(t, conn, len(resp.content)))
            for event in body.get("events", []):
                log.append(Received(int(event["id"]), t, conn))
                cursor.accept(int(event["id"]))
