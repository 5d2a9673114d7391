"""Reference polling clients: long polling, and short polling every P seconds.

Long polling always gets through a buffering proxy, because every response ends (docs/field.md);
its cost is one request per batch, which `requests` in the metrics makes visible. Short
polling asks every `interval_s` whether or not anything happened: latency up to P and empty
requests. A failed poll backs off exponentially; a subscription counts as (re)connected on
the first poll that succeeds after a failure, so `reconnects` means recoveries, not polls.

A poll whose kept-alive connection the peer closed before answering (a hop's lifetime cap
or idle timeout racing the next request) is resent at once, once, and is no failure: browsers
do the same for a request on a reused connection that ends before any response byte
(Chromium's HttpNetworkTransaction resends on ERR_EMPTY_RESPONSE / connection closed for a
reused socket), so an application's fetch never sees it; measured in the `browsers` matrix
(`browser_long_poll` vs `long_poll` through `lifetime_cap`).
"""

from __future__ import annotations

import httpx
import trio

from gauntlet.clients.base import Target, http_client
from gauntlet.clients.policy import Backoff, Cursor
from gauntlet.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EventLog,
    Note,
    Received,
    Request,
    now_ns,
)


async def run_long_poll(
    target: Target,
    log: EventLog,
    *,
    path: str = "/poll",
    cursor: Cursor | None = None,
    wait_ms: int | None = None,
    interval_s: float = 0.0,
) -> None:
    """Poll until cancelled: at once after each answer, or every `interval_s` (short poll)."""
    cursor = cursor if cursor is not None else Cursor()
    backoff = Backoff()
    conn = log.new_conn()
    connected = False
    next_poll = trio.current_time()
    resent = False
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
            except httpx.RemoteProtocolError as exc:
                if not resent:  # closed before any answer: resend once, as browsers do
                    resent = True
                    log.append(Note(now_ns(), f"poll resent after {type(exc).__name__}"))
                    continue
                if connected:
                    log.append(Disconnected(now_ns(), conn, f"poll failed: {type(exc).__name__}"))
                    conn, connected = log.new_conn(), False
                await trio.sleep(backoff.next_delay())
                continue
            except (httpx.HTTPError, ValueError) as exc:
                if connected:
                    log.append(Disconnected(now_ns(), conn, f"poll failed: {type(exc).__name__}"))
                    conn, connected = log.new_conn(), False
                await trio.sleep(backoff.next_delay())
                continue
            t = now_ns()
            backoff.reset()
            resent = False
            if not connected:
                log.append(Connected(t, conn, resp.http_version))
                connected = True
            log.append(BytesReceived(t, conn, len(resp.content)))
            for event in body.get("events", []):
                log.append(Received(int(event["id"]), t, conn))
                cursor.accept(int(event["id"]))
