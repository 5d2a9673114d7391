"""Reference WebSocket clients: plain (reconnect with backoff) and engine.io-style fallback.

Both resume with `?after=<last id>` on every connect, so a socket killed by a hop loses no
event that the server still has. The plain client reconnects with exponential backoff
(50 ms doubling to 2 s, reset after a socket that delivered): through a proxy that accepts
the upgrade and kills it, it flaps forever (FIELD.md). `run_websocket_fallback` starts on
long polling, probes a WebSocket beside it, moves over once the socket has lived `probe_ms`,
falls back to polling when it dies, and gives up upgrading after a few failed probes
(harness.clients.policy.UpgradePolicy), as engine.io and SignalR clients do.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import trio
from trio_websocket import ConnectionClosed, HandshakeError, open_websocket_url

from harness.clients.base import DEFAULT_CONNECT_TIMEOUT_S, Target
from harness.clients.long_poll import run_long_poll
from harness.clients.policy import Backoff, Cursor, UpgradePolicy
from harness.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EventLog,
    Note,
    Received,
    Request,
    now_ns,
)


async def websocket_session(
    target: Target, log: EventLog, cursor: Cursor, *, path: str = "/ws",
    probe_ms: float | None = None, on_probe_passed: Callable[[], None] | None = None,
) -> float | None:  # fmt: skip
    """One socket until it ends; returns how long it lived in ms (None: no handshake)."""
    if target.forward_proxy:
        raise NotImplementedError("websocket through a forward proxy (CONNECT) is not built yet")
    conn = log.new_conn()
    log.append(Request(now_ns(), conn, "WS " + path))
    opened_ns: int | None = None
    reason = "closed"
    try:
        async with open_websocket_url(
            target.ws_url(f"{path}?after={cursor.resume_after}"),
            ssl_context=target.tls.client_context(["http/1.1"]) if target.tls else None,
            connect_timeout=DEFAULT_CONNECT_TIMEOUT_S,
            disconnect_timeout=1,
        ) as ws:
            opened_ns = now_ns()
            log.append(Connected(opened_ns, conn, "HTTP/1.1"))
            async with trio.open_nursery() as nursery:
                if probe_ms is not None and on_probe_passed is not None:
                    nursery.start_soon(_after, probe_ms / 1000, on_probe_passed)
                try:
                    while True:
                        message = await ws.get_message()
                        t = now_ns()
                        log.append(BytesReceived(t, conn, len(message)))
                        event_id = int(json.loads(message)["id"])
                        log.append(Received(event_id, t, conn))
                        cursor.accept(event_id)
                except ConnectionClosed as exc:
                    reason = f"closed: {exc.reason}"
                nursery.cancel_scope.cancel()
    except ConnectionClosed as exc:
        reason = f"closed: {exc.reason}"
    except HandshakeError as exc:
        reason = f"handshake failed: {type(exc).__name__}: {exc}"
    except OSError as exc:
        reason = f"network error: {type(exc).__name__}"
    except trio.TooSlowError:
        reason = "connect timed out"
    ended_ns = now_ns()
    log.append(Disconnected(ended_ns, conn, reason))
    return None if opened_ns is None else (ended_ns - opened_ns) / 1e6


async def _after(delay_s: float, action: Callable[[], None]) -> None:
    await trio.sleep(delay_s)
    action()


async def run_websocket(target: Target, log: EventLog, *, path: str = "/ws") -> None:
    """Subscribe until cancelled, reconnecting with backoff."""
    cursor = Cursor()
    backoff = Backoff()
    while True:
        before = len(cursor.seen)
        await websocket_session(target, log, cursor, path=path)
        if len(cursor.seen) > before:
            backoff.reset()
        await trio.sleep(backoff.next_delay())


async def run_websocket_fallback(
    target: Target, log: EventLog, *, probe_ms: float, poll_wait_ms: int, retry_s: float,
) -> None:  # fmt: skip
    """Long polling first; upgrade to WebSocket when a probe survives; never flap forever."""
    cursor = Cursor()
    policy = UpgradePolicy(probe_ms=probe_ms, retry_s=retry_s)
    async with trio.open_nursery() as nursery:
        polling = trio.CancelScope()

        async def poll(scope: trio.CancelScope) -> None:
            with scope:
                await run_long_poll(target, log, cursor=cursor, wait_ms=poll_wait_ms)

        def upgraded() -> None:
            policy.socket_survived_probe()
            polling.cancel()
            log.append(Note(now_ns(), "websocket probe survived: upgraded, polling stopped"))

        nursery.start_soon(poll, polling)
        while policy.should_try():
            lived = await websocket_session(target, log, cursor, probe_ms=probe_ms,
                                            on_probe_passed=upgraded)  # fmt: skip
            was_upgraded = policy.upgraded
            policy.socket_ended(lived)
            if was_upgraded:  # the upgraded socket died: back to polling at once
                polling = trio.CancelScope()
                nursery.start_soon(poll, polling)
                log.append(Note(now_ns(), "websocket died: back to long polling"))
            if policy.should_try():
                await trio.sleep(policy.retry_delay_s())
        log.append(Note(now_ns(), f"websocket upgrade given up after {policy.failures} "
                                  "failed probes: staying on long polling"))  # fmt: skip
