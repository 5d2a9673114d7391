"""A small in-process topology for behaviour signature tests: server, hops, one client.

Unlike a full cell it lets a test drive the publisher itself (quiet streams, bursts) and
read the raw event log. It is harness/topology_open.py's topology with the reference server;
every wait wakes on `EventLog.wait_until` and is bounded by the caller's `fail_after`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from gauntlet.clients import TRANSPORTS, Target
from gauntlet.eventlog import EventLog, Received
from gauntlet.server import Publisher
from gauntlet.spec import HopSpec, client_timings, scale_chain
from gauntlet.target import ReferenceServer
from gauntlet.topology_open import open_topology


@dataclass
class Rig:
    log: EventLog
    publisher: Publisher

    async def wait_received(self, event_id: int) -> None:
        """Wake on every record until event `event_id` has been received (no polling)."""
        await self.log.wait_until(
            lambda log: any(isinstance(r, Received) and r.id == event_id for r in log.records)
        )

    async def wait_until(self, condition: Callable[[EventLog], bool]) -> None:
        """Wake on every record the log gets until `condition(log)` holds (no polling)."""
        await self.log.wait_until(condition)


@asynccontextmanager
async def rig(
    transport: str,
    hops: list[HopSpec],
    workdir: Path,
    *,
    time_scale: float = 1.0,
    client: Callable[[Target, EventLog], Awaitable[None]] | None = None,
    wait_for_request: bool = True,
) -> AsyncIterator[Rig]:
    log = EventLog()
    server = ReferenceServer(log, payload_bytes=64)
    async with open_topology(scale_chain(hops, time_scale), workdir, log, server=server) as t:
        t.start_client(client or TRANSPORTS[transport].client(client_timings(time_scale)))
        if wait_for_request:
            await server.publisher.first_request.wait()
        yield Rig(log, server.publisher)
