"""A small in-process topology for behaviour signature tests: server, hops, one client.

Unlike a full cell it lets a test drive the publisher itself (quiet streams, bursts) and
read the raw event log. Every wait is bounded by the caller's `fail_after`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from gauntlet.clients import TRANSPORTS, Target
from gauntlet.eventlog import EventLog, Received, Record
from gauntlet.hops import client_entry, running_chain
from gauntlet.server import Publisher, PushApp, ServerOptions, serve_push_app
from gauntlet.spec import HopSpec, client_timings, scale_chain


@dataclass
class Rig:
    log: EventLog
    publisher: Publisher
    received: dict[int, trio.Event]

    async def wait_received(self, event_id: int) -> None:
        await self.received.setdefault(event_id, trio.Event()).wait()

    async def wait_until(self, condition: Callable[[EventLog], bool]) -> None:
        """Wake on every record the log gets until `condition(log)` holds (no polling)."""
        await self.log.wait_until(condition)


@asynccontextmanager
async def rig(
    transport: str, hops: list[HopSpec], workdir: Path, *, time_scale: float = 1.0,
    client: Callable[[Target, EventLog], Awaitable[None]] | None = None,
    wait_for_request: bool = True,
) -> AsyncIterator[Rig]:  # fmt: skip
    log = EventLog()
    received: dict[int, trio.Event] = {}

    def on_record(record: Record) -> None:
        if isinstance(record, Received):
            received.setdefault(record.id, trio.Event()).set()

    log.listener = on_record
    publisher = Publisher(log, payload_bytes=64)
    app = PushApp(publisher, log, ServerOptions())
    async with trio.open_nursery() as nursery:
        server_url = await nursery.start(serve_push_app, app)
        async with running_chain(scale_chain(hops, time_scale), server_url, workdir) as chain:
            base_url, forward = client_entry(chain, server_url)
            run = client or TRANSPORTS[transport].client(client_timings(time_scale))
            async with trio.open_nursery() as clients:
                clients.start_soon(run, Target(base_url, forward_proxy=forward), log)
                if wait_for_request:
                    await publisher.first_request.wait()
                yield Rig(log, publisher, received)
                clients.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
