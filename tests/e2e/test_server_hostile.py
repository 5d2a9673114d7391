"""The reference server under hostile clients: well-behaved subscribers lose nothing, their p99
stays within 2x, the server's memory stays bounded.

The server runs in this process (its RSS is this process's); the hostile clients run in
another (tests/e2e/hostile_clients.py: slowloris, never-reading SSE clients, enormous and
malformed Last-Event-ID and cursors, up to 1000 connects/disconnects per second, invalid
WebSocket frames), on 127.0.0.1 only, for a bounded time. Three SSE subscribers take 100
events at 20/s with nothing else going on (the baseline), then 100 more beside the attack.

Tolerances (real clock, a shared 2-core machine): p99 under attack <= 2 x max(baseline p99,
FLOOR_MS); the floor exists because a ratio of two sub-5 ms loopback percentiles measures
the scheduler, not the server. RSS may grow by RSS_GROWTH_MB at most.

The p99 claim is about the server, so both phases are measured with the server and its
subscribers in a real-time scheduling class (SCHED_RR 1, `measuring_priority`), the attack
at normal priority. Measured without it at a machine load of 13-17 (other work on the 2
cores): the server used 10-16 % of a core under attack, yet p99 was 30-590 ms, its GC pauses
of 0.2 ms took 25 ms of wall time: a process woken 1000+ times a second waits behind the
machine's run queue on every wake-up, in the attack phase only. With it, each kind alone
kept p99 at 2.0-3.5 ms against a 1.5-2 ms baseline. A real-time server must not saturate
its core (the kernel throttles it 50 ms per second past 95 %), hence the attack's stated
rates (hostile_clients.py). Without the privilege (CAP_SYS_NICE) the ratio is not measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
import trio

from gauntlet.clients import Target
from gauntlet.clients.policy import Cursor
from gauntlet.clients.sse import run_sse
from gauntlet.eventlog import EventLog, Published, Received, ServerRequest
from gauntlet.metrics import percentile
from gauntlet.server import Publisher, PushApp, ServerOptions, serve_push_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.serial]
SUBSCRIBERS, EVENTS, RATE_PER_S = 3, 100, 20
FLOOR_MS, RSS_GROWTH_MB = 5.0, 64
PHASE_TIMEOUT_S, ATTACK_S = 30.0, 60.0
HOSTILE = Path(__file__).with_name("hostile_clients.py")
KINDS = [os.environ["GAUNTLET_HOSTILE_KINDS"]] if "GAUNTLET_HOSTILE_KINDS" in os.environ else []


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _phase(log: EventLog, publisher: Publisher, subs: list[EventLog]) -> tuple[int, float]:
    """Publish EVENTS at RATE_PER_S; (events lost by any subscriber, p99 latency in ms)."""
    first = publisher.last_id + 1
    wanted = set(range(first, first + EVENTS))
    begin = trio.current_time()
    for i in range(EVENTS):
        await trio.sleep_until(begin + i / RATE_PER_S)  # the workload's pacing
        publisher.publish()

    def got(sub: EventLog) -> set[int]:
        return {r.id for r in sub.of(Received) if r.id in wanted}

    with trio.move_on_after(PHASE_TIMEOUT_S):
        for sub in subs:
            await sub.wait_until(lambda _, s=sub: got(s) == wanted)
    sent = {r.id: r.t_ns for r in log.of(Published) if r.id in wanted}
    latencies, lost = [], 0
    for sub in subs:
        first_seen: dict[int, int] = {}
        for r in sub.of(Received):
            first_seen.setdefault(r.id, r.t_ns)
        lost += len(wanted - first_seen.keys())
        latencies += [(first_seen[i] - sent[i]) / 1e6 for i in wanted if i in first_seen]
    return lost, percentile(latencies, 99) or 0.0


@contextmanager
def measuring_priority() -> Iterator[None]:
    """This thread (the server and its subscribers) in SCHED_RR 1 for the block; skip the
    test where the kernel refuses it (no CAP_SYS_NICE)."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
    except PermissionError:
        pytest.skip("SCHED_RR refused (no CAP_SYS_NICE): p99 would measure the machine's load")
    try:
        yield
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


async def _measure_under_attack() -> dict[str, float]:
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
        attack = await trio.lowlevel.open_process(
            [sys.executable, str(HOSTILE), port, str(ATTACK_S), *KINDS], stdout=subprocess.PIPE
        )
        try:
            said = b""
            with trio.fail_after(PHASE_TIMEOUT_S):  # the attack says when every kind runs
                while b"started\n" not in said:
                    chunk = await attack.stdout.receive_some(64)
                    assert chunk, said
                    said += chunk
            lost, p99 = await _phase(log, publisher, subs)
            rss_after = rss_mb()
        finally:
            attack.kill()
            with trio.fail_after(10):
                await attack.wait()
        nursery.cancel_scope.cancel()
    hostile_requests = len(log.of(ServerRequest)) - SUBSCRIBERS
    print(
        f"baseline p99 {base_p99:.1f} ms; under attack p99 {p99:.1f} ms; RSS "
        f"{rss_before:.0f} -> {rss_after:.0f} MB; {hostile_requests} hostile requests served"
    )
    return {
        "base_lost": base_lost,
        "lost": lost,
        "base_p99": base_p99,
        "p99": p99,
        "rss_growth_mb": rss_after - rss_before,
        "hostile_requests": hostile_requests,
    }


async def test_subscribers_lose_nothing_and_memory_stays_bounded_beside_hostile_clients():
    m = await _measure_under_attack()
    assert m["base_lost"] == 0 and m["lost"] == 0
    assert m["hostile_requests"] > 20  # the attack reached the server (the app saw requests)
    assert m["rss_growth_mb"] <= RSS_GROWTH_MB


async def test_subscribers_p99_stays_within_2x_beside_hostile_clients():
    with measuring_priority():
        m = await _measure_under_attack()
    assert m["p99"] <= 2 * max(m["base_p99"], FLOOR_MS), m


async def test_bytes_right_after_a_websocket_upgrade_end_that_connection_not_the_server():
    """hypercorn 0.18 stopped the whole server on this (harness/server/contain.py)."""
    from gauntlet.server.contain import contained

    log = EventLog()
    app = PushApp(Publisher(log, payload_bytes=64), log, ServerOptions())
    handshake = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    before = contained["connections"]
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_push_app, app)
        port = int(url.rsplit(":", 1)[1])
        with trio.fail_after(10):
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(handshake + b"\xff" * 64)
                while await stream.receive_some(1024):  # until the server closes it
                    pass
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:  # still serving
                await stream.send_all(b"GET /poll?wait_ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
                assert (await stream.receive_some(1024)).startswith(b"HTTP/1.1 200")
        nursery.cancel_scope.cancel()
    assert contained["connections"] == before + 1


async def test_a_connection_that_closes_without_a_byte_never_reaches_hypercorn():
    """harness/server/contain.py: connect-close churn costs an accept, and the next
    connection that does speak is served as before."""
    from gauntlet.server.contain import contained

    log = EventLog()
    app = PushApp(Publisher(log, payload_bytes=64), log, ServerOptions())
    before = dict(contained)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_push_app, app)
        port = int(url.rsplit(":", 1)[1])
        with trio.fail_after(10):
            for _ in range(5):
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                await stream.aclose()
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(b"GET /poll?wait_ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
                assert (await stream.receive_some(1024)).startswith(b"HTTP/1.1 200")
        nursery.cancel_scope.cancel()
    assert contained["silent"] == before["silent"] + 5
    assert contained["connections"] == before["connections"]
    assert not [r for r in log.of(ServerRequest) if r.path != "/poll"]
