"""One topology: server, hops and the client entry, up in order, down in the one right order.

Every assembly of "server -> hops -> clients" goes through `open_topology`: a measured cell
(harness/topology.py: run_cell), calibration (harness/instrument/calibrate.py), `gauntlet load`
(harness/load/run.py), the pytest plugin's fixtures and the e2e test helpers. A new hop kind
plugs into `hops.running_hop` and a new client kind is a `ClientRun`; neither needs a new
assembly.

Up, each step waiting on its readiness signal (ARCHITECTURE.md, "Signals, not sleeps"):
1. the server: a `PushTarget` (harness/target.py: the reference server, a team's ASGI app or
   running endpoint) started on `server_socket` or a fresh 127.0.0.1 port, or the URL of a
   server someone else runs (an outer topology's, for a second chain over the same server);
2. the hops, from the server outwards (hops.running_chain: each reverse hop needs its
   upstream's address);
3. optionally the hop-process watch (health.watch_hops): a managed hop that exits while the
   topology is up raises HopFault, which cancels the body;
4. a nursery for the clients, so they have a place that ends first.

Down, whatever ends the body (its end, an exception, a cancel, Ctrl-C): the clients are
cancelled first, so a teardown never shows up in the event log as a client's disconnect;
then the hop watch, so killing a hop is not a HopFault; then the hops are killed (as a
process group, shielded from the cancel: hops.running_hop); then the server. With TLS, one
per-topology CA (harness/tls.py) signs the server's certificate and is every hop's CA.

What a caller does not want it does not pay for: the hop watch is an option, and the health
check through the chain and the mid-cell chain watch stay with the cell (harness/topology.py),
which is the only caller that judges a chain.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from gauntlet.clients import Target
from gauntlet.eventlog import EventLog
from gauntlet.health import Clock, watch_hops
from gauntlet.hops import RunningHop, client_entry, running_chain
from gauntlet.spec import ScaledHop
from gauntlet.target import PushTarget
from gauntlet.tls import RunCA, create_run_ca

ClientRun = Callable[[Target, EventLog], Awaitable[None]]
"""A client kind: runs against a `Target` (where to connect, which proxy, TLS, HTTP/2) and
appends what it sees to the log until cancelled (harness/clients: `Transport.client(scale)`)."""


@dataclass
class Topology:
    """A started server and chain, and where clients connect; valid inside `open_topology`."""

    log: EventLog
    server: PushTarget | None
    """What was started as the server; None when the topology runs over someone else's URL."""
    server_url: str
    hops: list[RunningHop]
    """Client-first: hops[0] is what a client talks to."""
    tls: RunCA | None
    http2: bool
    _clients: trio.Nursery

    def client_target(self, base_url: str, forward_proxy: str | None) -> Target:
        """A client's Target for this topology's TLS and HTTP version (health.MakeTarget)."""
        return Target(base_url, forward_proxy=forward_proxy, http2=self.http2, tls=self.tls)

    @property
    def entry(self) -> Target:
        """Where a client enters the whole chain (the front reverse hop, or the server through
        a forward proxy, or the server itself when there are no hops)."""
        return self.client_target(*client_entry(self.hops, self.server_url))

    def start_client(self, run: ClientRun) -> None:
        """Run a client at the chain's entry until the topology ends (cancelled before the hops)."""
        self._clients.start_soon(run, self.entry, self.log)

    @asynccontextmanager
    async def client(self, run: ClientRun) -> AsyncIterator[None]:
        """Run a client at the chain's entry for the block only (a fresh subscriber per sample);
        a client error propagates out of the block."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, self.entry, self.log)
            yield
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def open_topology(
    hops: Sequence[ScaledHop],
    workdir: Path,
    log: EventLog,
    *,
    server: PushTarget | str,
    tls: bool | RunCA = False,
    http2: bool = False,
    server_socket: socket.socket | None = None,
    watch: Clock | None = None,
) -> AsyncIterator[Topology]:
    """Start `server`, then `hops` from it outwards; yield the Topology; tear down in order.

    `server` is a PushTarget to start (built on `log`), or the URL of a server already
    running (nothing is started or stopped for it). `tls=True` makes a CA for this topology in
    `workdir/ca`; a RunCA is used as given (a chain over an outer topology's TLS server).
    `watch` (the cell's clock): also watch every managed hop's process and raise HopFault when
    one exits before teardown. A hop that cannot start raises HopStartError out of the block.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    ca = tls if isinstance(tls, RunCA) else create_run_ca(workdir / "ca") if tls else None
    if isinstance(server, str) and server_socket is not None:
        raise ValueError("server_socket is for a server the topology starts")
    server_scope = trio.CancelScope(shield=True)  # an outer cancel reaches it last, from here
    async with trio.open_nursery() as outer:
        try:
            if isinstance(server, str):
                server_url, started = server, None
            else:
                server_nursery = await outer.start(_nursery_in, server_scope)
                server_url = await server.start(server_nursery, ca, server_socket)
                started = server
            async with running_chain(hops, server_url, workdir, ca) as chain:
                async with trio.open_nursery() as watchers:
                    if watch is not None:
                        await watch_hops(chain, watch, watchers)
                    async with trio.open_nursery() as clients:
                        yield Topology(log, started, server_url, chain, ca, http2, clients)
                        clients.cancel_scope.cancel()  # 1. clients, before what they talk to
                    watchers.cancel_scope.cancel()  # 2. the watch, so a killed hop is no fault
                # 3. running_chain's exit kills every hop it started (shielded)
        finally:
            server_scope.cancel()  # 4. the server last, even when the cancel came from outside


async def _nursery_in(
    scope: trio.CancelScope,
    task_status: trio.TaskStatus[trio.Nursery] = trio.TASK_STATUS_IGNORED,
) -> None:
    """A nursery inside `scope` (shielded): what the server runs in, so a cancel of the whole
    topology (Ctrl-C) stops the server only once its clients and hops are gone. A server
    still starting is not shielded yet (trio's `start` runs it in the caller's scope)."""
    with scope:
        async with trio.open_nursery() as nursery:
            task_status.started(nursery)
            await trio.sleep_forever()
