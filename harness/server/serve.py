"""Serve the push app with hypercorn's trio worker on 127.0.0.1, on a port the OS picks."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from gauntlet.server import contain
from gauntlet.server.app import PushApp
from gauntlet.tls import RunCA

ASGIApp = Callable[..., Awaitable[None]]  # any ASGI app: a team's own (`gauntlet run --app`)
contain.install()  # one hostile connection ends itself, not the server (contain.py)


def _config(tls: RunCA | None, sock: socket.socket | None = None) -> Config:
    config = Config()
    config.bind = ["127.0.0.1:0"]  # loopback only; port 0: the OS picks a free port
    if sock is not None:  # hypercorn adopts (and closes) this fd: give it its own copy
        config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.5
    # hypercorn listens with a backlog of 100: a `gauntlet load` ramp of hundreds of
    # subscribers a second overflows it and measures SYN retries (1 s, 3 s) instead of push.
    # Linux caps it at net.core.somaxconn (4096 by default since 5.4).
    config.backlog = 2048
    if tls is not None:  # HTTPS, offering h2 and http/1.1 by ALPN (hypercorn's default)
        config.certfile = str(tls.server_cert)
        config.keyfile = str(tls.server_key)
    return config


async def serve_push_app(
    app: PushApp | ASGIApp,
    tls: RunCA | None = None,
    *,
    sock: socket.socket | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run until cancelled; `await nursery.start(serve_push_app, app)` returns the base URL.

    hypercorn's `serve` reports its bound addresses through the nursery start protocol, which
    is the readiness signal: no polling, and the real port rather than the requested 0.
    `sock`, a listening socket the caller bound (127.0.0.1, port from the OS), is served
    instead: a proxy the caller starts can be told where the server is before it starts.
    """

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, app, _config(tls, sock))
        task_status.started(binds[0])
