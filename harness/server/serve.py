"""Serve the push app with hypercorn's trio worker on 127.0.0.1, on a port the OS picks."""

from __future__ import annotations

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from harness.server.app import PushApp


def _config() -> Config:
    config = Config()
    config.bind = ["127.0.0.1:0"]  # loopback only; port 0: the OS picks a free port
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.5
    return config


async def serve_push_app(
    app: PushApp, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run until cancelled; `await nursery.start(serve_push_app, app)` returns the base URL.

    hypercorn's `serve` reports its bound addresses through the nursery start protocol, which
    is the readiness signal: no polling, and the real port rather than the requested 0.
    """

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, app, _config())
        task_status.started(binds[0])
