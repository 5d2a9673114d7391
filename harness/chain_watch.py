"""Mid-cell harness faults: a hop that breaks while the workload runs is ERROR, not a finding.

The rule (ARCHITECTURE.md, "Faults are never findings"): the chain is part of the instrument,
and the harness can ask it at any moment to relay one health GET to the server
(harness/health.py). A hop that answers an error status itself, resets or refuses a client's
connection *while the chain still relays that GET* is doing something to traffic it relays:
that is the intermediary's behaviour and stays a finding (proxies/error_status.py's 503 to
`/sse`, ws_refuse's 403 to an upgrade, a real nginx's 504 after proxy_read_timeout, squid's
403 to a CONNECT it does not allow, idle_timeout's reset). When the chain does *not* relay it
(a hop refuses the connection, answers an error itself with the server seeing no request,
resets, or is not HTTP), the hop is broken or gone: the cell is ERROR, the reason naming the
first broken hop from the server outwards, what it did and when, and the client's first
symptom.

When the chain is asked, without polling and without adding requests to a healthy cell's
traffic beyond one GET per symptom:
- each time a client logs a connection that ended other than cleanly (`Disconnected` with a
  reason other than "end of stream": a refused connect, a reset, a status it does not accept,
  a refused upgrade). At most one check runs at a time; symptoms during a check share it, and
  a reason a check already cleared is not checked again (a fallback client's third refused
  probe), so a hostile but working hop costs its cell one GET per kind of symptom; a hop
  that breaks later changes the reason (a refused reconnect) or meets the final check.
- once after the workload, for what a client cannot report (a browser's page, a client that
  stopped retrying): a finding is only reported about a chain that still works.

A managed hop that has exited is named by its exit (health.watch_hops says the same), so the
reason does not depend on which of the two noticed first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import trio

from gauntlet.errors import HopFault
from gauntlet.eventlog import Disconnected, EventLog, Note, now_ns
from gauntlet.health import Clock, MakeTarget, check_health, exit_description, hop_name
from gauntlet.hops import RunningHop

CLEAN_END = "end of stream"
"""The one Disconnected reason that says nothing about the chain (harness/clients/sse.py: the
server ended the response, as close-after-event SSE does after every event)."""


def symptom(record: object) -> Disconnected | None:
    """The record if it is a connection that ended other than cleanly, else None (PURE)."""
    if isinstance(record, Disconnected) and record.reason != CLEAN_END:
        return record
    return None


def exited_hop(hops: Sequence[RunningHop]) -> HopFault | None:
    """A HopFault naming the first managed hop whose process has exited, if any."""
    for hop in hops:
        if hop.process is not None and (code := hop.process.returncode) is not None:
            return HopFault(f"{hop_name(hop)} {exit_description(code)}")
    return None


class ChainWatch:
    """Checks the chain on each client symptom while the workload runs, and once after it."""

    def __init__(
        self,
        hops: Sequence[RunningHop],
        server_url: str,
        make_target: MakeTarget,
        health_count: Callable[[], int],
        clock: Clock,
        log: EventLog,
    ) -> None:
        self.hops = hops
        self.server_url = server_url
        self.make_target = make_target
        self.health_count = health_count
        self.clock = clock
        self.log = log
        self.checks = 0
        """Health checks made during and after the workload (reported in a Note)."""

    async def watch(self) -> None:
        """Run until cancelled; raise HopFault when a symptom turns out to be a broken chain."""
        if not self.hops:
            await trio.sleep_forever()
        seen = [len(self.log.records)]
        cleared: set[str] = set()  # reasons a check already found the chain working through

        def new_symptom(log: EventLog) -> Disconnected | None:
            fresh = (r for r in map(symptom, log.records[seen[0] :]) if r is not None)
            return next((r for r in fresh if r.reason not in cleared), None)

        while True:
            first = await self.log.wait_until(new_symptom)
            at_s = self.clock() - (now_ns() - first.t_ns) / 1e9
            await self.check(
                f"mid-cell (a client's connection ended at {at_s:.1f} s: {first.reason})"
            )
            cleared.add(first.reason)
            seen[0] = len(self.log.records)  # symptoms during the check shared it

    async def check(self, context: str) -> None:
        """One health check through the chain; HopFault naming the broken hop, else a Note."""
        if not self.hops:
            return
        self.checks += 1
        try:
            stall = await check_health(
                self.hops,
                self.server_url,
                self.make_target,
                self.health_count,
                self.clock,
                when=context,
            )
        except HopFault:
            exited = exited_hop(self.hops)
            if exited is not None:
                raise HopFault(f"{exited} at {self.clock():.1f} s, {context}") from None
            raise
        self.log.append(
            Note(
                now_ns(),
                f"chain relayed a health check at {self.clock():.1f} s "
                f"({context}{'; ' + stall if stall else ''}): a finding, not a fault",
            )
        )
