"""Reference WebSocket client: one frame per event; reconnect with backoff and resume by id.

Resumes with `?after=<last id>` on every reconnect, so a socket killed by a hop loses no
event that the server still has; reconnect delays back off exponentially (50 ms doubling to
2 s, reset after a socket that delivered), the pattern engine.io and SignalR clients use.
"""

from __future__ import annotations

import json

import trio
from trio_websocket import ConnectionClosed, HandshakeError, open_websocket_url

from harness.clients.base import DEFAULT_CONNECT_TIMEOUT_S, Backoff, Target
from harness.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EventLog,
    Received,
    Request,
    now_ns,
)


async def run_websocket(target: Target, log: EventLog, *, path: str = "/ws") -> None:
    """Subscribe until cancelled."""
    if target.forward_proxy:
        raise NotImplementedError("websocket through a forward proxy (CONNECT) comes with issue 3")
    cursor = 0
    backoff = Backoff()
    while True:
        conn = log.new_conn()
        log.append(Request(now_ns(), conn, "WS " + path))
        reason = "closed"
        try:
            async with open_websocket_url(
                target.ws_url(f"{path}?after={cursor}"),
                ssl_context=target.tls.client_context(["http/1.1"]) if target.tls else None,
                connect_timeout=DEFAULT_CONNECT_TIMEOUT_S,
                disconnect_timeout=1,
            ) as ws:
                log.append(Connected(now_ns(), conn, "HTTP/1.1"))
                while True:
                    message = await ws.get_message()
                    t = now_ns()
                    log.append(BytesReceived(t, conn, len(message)))
                    event_id = int(json.loads(message)["id"])
                    log.append(Received(event_id, t, conn))
                    cursor = max(cursor, event_id)
                    backoff.reset()
        except ConnectionClosed as exc:
            reason = f"closed: {exc.reason}"
        except HandshakeError as exc:
            reason = f"handshake failed: {type(exc).__name__}: {exc}"
        except OSError as exc:
            reason = f"network error: {type(exc).__name__}"
        except trio.TooSlowError:
            reason = "connect timed out"
        log.append(Disconnected(now_ns(), conn, reason))
        await trio.sleep(backoff.next_delay())
