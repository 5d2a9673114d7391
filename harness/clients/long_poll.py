"""Reference long-polling client: ask for events after my cursor, and ask again at once.

Long polling always gets through a buffering proxy, because every response ends (FIELD.md);
its cost is one request per batch, which `requests` in the metrics makes visible. A failed
poll backs off exponentially; a subscription counts as (re)connected on the first poll that
succeeds after a failure, so `reconnects` means recoveries, not ordinary polls.
"""

from __future__ import annotations

import httpx
import trio

from harness.clients.base import Backoff, Target, http_client
from harness.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EventLog,
    Received,
    Request,
    now_ns,
)


async def run_long_poll(target: Target, log: EventLog, *, path: str = "/poll") -> None:
    """Poll until cancelled."""
    cursor = 0
    backoff = Backoff()
    conn = log.new_conn()
    connected = False
    async with http_client(target) as client:
        while True:
            log.append(Request(now_ns(), conn, "GET " + path))
            try:
                resp = await client.get(target.base_url + path, params={"after": cursor})
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
                cursor = max(cursor, int(event["id"]))
