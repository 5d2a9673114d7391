"""Reach into a live mitmproxy connection: how long it has been idle, and cut it.

mitmproxy has no public API to close a client connection from an addon (`flow.kill()` does
not stop a flow whose body is already streaming, docs/mitmproxy.md), so this uses the proxyserver
addon's table of live connection handlers. These are internals of mitmproxy 12.2.3, which
the project pins exactly; tests/e2e/test_behaviours_e2e.py covers every use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mitmproxy import connection, ctx

log = logging.getLogger(__name__)


def _handler(client: connection.Client):
    return ctx.master.addons.get("proxyserver").connections.get(client.id)


def idle_for_s(client: connection.Client) -> float | None:
    """Seconds since bytes last moved on this client's connection, either way (or None)."""
    handler = _handler(client)
    if handler is None:
        return None
    return time.time() - handler.timeout_watchdog.last_activity


def close_client(client: connection.Client, reason: str) -> bool:
    """Close the client connection and every server connection it opened (FIN, as
    mitmproxy's own inactivity timeout does). False if it is already gone."""
    handler = _handler(client)
    if handler is None or handler.client not in handler.transports:
        return False
    task = handler.transports[handler.client].handler
    if task is None or task.done():
        return False
    log.info("gauntlet: closing %s: %s", client.peername, reason)
    task.cancel(reason)
    return True


def later(delay_s: float, action: Callable[[], object]) -> asyncio.TimerHandle:
    """Run `action` after `delay_s` on mitmproxy's event loop (hooks run on that loop)."""
    return asyncio.get_running_loop().call_later(max(0.0, delay_s), action)
