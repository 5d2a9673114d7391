"""The reference server beside hostile clients: do well-behaved subscribers keep their p99?

The server runs in this process (its RSS is this process's); the hostile clients run in
another (harness/instrument/bench/hostile_clients.py: slowloris, never-reading SSE clients,
enormous and malformed Last-Event-ID and cursors, up to 1000 connects/disconnects per second,
invalid WebSocket frames), on 127.0.0.1 only, for a bounded time. Three SSE subscribers take
100 events at 20/s with nothing else going on (the baseline), then 100 more beside the
attack. `gauntlet bench` reports the figures and judges the target (bench/document.py:
hostile_target); tests/e2e/test_server_hostile.py checks what must hold on any machine (no
event lost, memory bounded, the attack reached the server).

Why the p99 claim is a benchmark and not a test: it is a speed target on a real clock. Its
figures, on the 2-core machine, the server and subscribers in SCHED_RR 1: baseline p99
1.4-4 ms; under attack 4.8-9.3 ms alone on the machine, and 13.6 ms once in a CI run (limit
10 ms). Of what makes the tail, the process's own cyclic GC was the largest part (full
collections of 100-140 ms every 3-4 s under the attack's allocations, before the start-up heap
was frozen: harness/instrument/heap.py); the rest is the kernel's, outside any task step (no
trio task step over 0.7 ms in those runs).

Why SCHED_RR (`realtime_priority`): measured without it at a machine load of 13-17 (other work
on the 2 cores), the server used 10-16 % of a core under attack, yet p99 was 30-590 ms: a
process woken 1000+ times a second waits behind the machine's run queue on every wake-up, in
the attack phase only. A real-time server must not saturate its core (the kernel throttles it
50 ms per second past 95 %), hence the attack's stated rates. Without the privilege
(CAP_SYS_NICE) the ratio is not measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial

import trio

from gauntlet.clients import Target
from gauntlet.clients.policy import Cursor
from gauntlet.clients.sse import run_sse
from gauntlet.errors import GauntletError
from gauntlet.eventlog import EventLog, Published, Received, ServerRequest
from gauntlet.instrument.bench.procs import rss_mb
from gauntlet.instrument.heap import freeze_startup_heap
from gauntlet.metrics import percentile
from gauntlet.server import Publisher, PushApp, ServerOptions, serve_push_app

SUBSCRIBERS, EVENTS, RATE_PER_S = 3, 100, 20
PHASE_TIMEOUT_S, ATTACK_S = 30.0, 60.0
HOSTILE_CLIENTS = "gauntlet.instrument.bench.hostile_clients"


@dataclass(frozen=True)
class HostileFigures:
    """One measurement: each phase's losses and p99 (ms), the server's RSS growth (MB)."""

    base_lost: int
    lost: int
    base_p99_ms: float
    p99_ms: float
    rss_growth_mb: float
    hostile_requests: int
    realtime: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


@contextmanager
def realtime_priority() -> Iterator[bool]:
    """This thread (the server and its subscribers) in SCHED_RR 1 for the block; yields
    whether the kernel allowed it (it refuses without CAP_SYS_NICE)."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
    except PermissionError:
        yield False
        return
    try:
        yield True
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


async def _phase(log: EventLog, publisher: Publisher, subs: list[EventLog]) -> tuple[int, float]:
    """Publish EVENTS at RATE_PER_S; (events lost by any subscriber, p99 latency in ms)."""
    first = publisher.last_id + 1
    wanted = set(range(first, first + EVENTS))
    begin = trio.current_time()
    for i in range(EVENTS):
        await trio.sleep_until(begin + i / RATE_PER_S)  # the workload's pacing
        publisher.publish()

    def got(sub: EventLog) -> bool:
        return {r.id for r in sub.of(Received) if r.id in wanted} == wanted

    with trio.move_on_after(PHASE_TIMEOUT_S):
        for sub in subs:
            await sub.wait_until(got)
    sent = {r.id: r.t_ns for r in log.of(Published) if r.id in wanted}
    latencies, lost = [], 0
    for sub in subs:
        first_seen: dict[int, int] = {}
        for r in sub.of(Received):
            first_seen.setdefault(r.id, r.t_ns)
        lost += len(wanted - first_seen.keys())
        latencies += [(first_seen[i] - sent[i]) / 1e6 for i in wanted if i in first_seen]
    return lost, percentile(latencies, 99) or 0.0


async def _attack_started(attack: trio.Process) -> None:
    """Until the attack says every kind runs (its first line)."""
    assert attack.stdout is not None
    said = b""
    while b"started\n" not in said:
        chunk = await attack.stdout.receive_some(64)
        if not chunk:
            raise GauntletError(f"the hostile clients ended before they started: {said!r}")
        said += chunk


async def measure_beside_hostile_clients(
    kinds: Sequence[str] = (), realtime: bool = False
) -> HostileFigures:
    """Baseline phase, then the same beside the attack (`kinds`: all when empty); with
    `realtime`, the caller holds `realtime_priority()` and says so in the figures."""
    freeze_startup_heap()
    log = EventLog()
    publisher = Publisher(log, payload_bytes=64)
    app = PushApp(publisher, log, ServerOptions())
    subs = [EventLog() for _ in range(SUBSCRIBERS)]
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_push_app, app)
        for sub in subs:
            nursery.start_soon(partial(run_sse, Target(url), sub, cursor=Cursor()))
        with trio.fail_after(PHASE_TIMEOUT_S):
            await log.wait_until(lambda _: len(log.of(ServerRequest)) >= SUBSCRIBERS)
        base_lost, base_p99 = await _phase(log, publisher, subs)
        rss_before = rss_mb()
        port = url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", HOSTILE_CLIENTS, port, str(ATTACK_S)]
        attack = await trio.lowlevel.open_process(
            [*command, ",".join(kinds)] if kinds else command, stdout=subprocess.PIPE
        )
        try:
            with trio.fail_after(PHASE_TIMEOUT_S):
                await _attack_started(attack)
            lost, p99 = await _phase(log, publisher, subs)
            rss_after = rss_mb()
        finally:
            attack.kill()
            with trio.fail_after(10):
                await attack.wait()
        nursery.cancel_scope.cancel()
    return HostileFigures(
        base_lost=base_lost,
        lost=lost,
        base_p99_ms=base_p99,
        p99_ms=p99,
        rss_growth_mb=rss_after - rss_before,
        hostile_requests=len(log.of(ServerRequest)) - SUBSCRIBERS,
        realtime=realtime,
    )
