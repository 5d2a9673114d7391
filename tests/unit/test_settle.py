"""The workload waits for a client that chooses its transport at start-up, and only for it.

Under trio's MockClock: sse_canary's choice is its canary timeout (Phoenix's 2.5 s, unscaled),
and the wait before publishing ends at the client's `Settled`, or at the bound with a note.
The reason (harness/clients/__init__.py, Transport.settle_s): events published into the
client's own start-up wait had that constant as their latency, on the 250 ms budget's edge.
"""

from __future__ import annotations

import pytest
import trio

from gauntlet.clients import TRANSPORTS
from gauntlet.eventlog import EventLog, Note, Request, ServerRequest, Settled, now_ns
from gauntlet.scenario import load_matrix
from gauntlet.spec import client_timings
from gauntlet.topology import FIRST_REQUEST_TIMEOUT_S, _until_settled


def cell(transport: str):
    return next(
        c
        for c in load_matrix("transports").cells
        if c.transport == transport and c.intermediary.name == "store_and_forward"
    )


def test_only_the_canary_client_chooses_its_transport_and_its_patience_is_not_scaled():
    assert [t for t, spec in TRANSPORTS.items() if spec.settle_s] == ["sse_canary"]
    canary = TRANSPORTS["sse_canary"].settle_s
    assert canary is not None  # Phoenix's longPollFallbackMs, the same at every scale
    assert canary(client_timings(30)) == canary(client_timings(1)) == 2.5


async def test_the_workload_starts_when_the_canary_client_has_chosen(autojump_clock):
    log = EventLog()

    async def client_chooses_then_polls(at_s: float) -> None:
        log.append(ServerRequest(now_ns(), "/sse", "HTTP/1.1"))  # the canary's stream
        await trio.sleep(at_s)
        log.append(Settled(now_ns(), "long polling"))
        await trio.sleep(0.05)  # a new connection through the hops
        log.append(Request(now_ns(), 2, "GET /poll"))
        await trio.sleep(0.25)
        log.append(ServerRequest(now_ns(), "/poll", "HTTP/1.1"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(client_chooses_then_polls, 2.5)
        start = trio.current_time()
        await _until_settled(cell("sse_canary"), log)  # the first poll reached the server
        assert trio.current_time() - start == pytest.approx(2.8)
    assert log.of(Note) == []


async def test_without_a_view_of_the_server_the_chosen_transports_first_request_is_enough(
    autojump_clock,
):
    log = EventLog()
    log.append(Request(now_ns(), 1, "GET /sse"))

    async def client_chooses() -> None:
        await trio.sleep(2.5)
        log.append(Settled(now_ns(), "long polling"))
        await trio.sleep(0.05)
        log.append(Request(now_ns(), 2, "GET /poll"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(client_chooses)
        start = trio.current_time()
        await _until_settled(cell("sse_canary"), log, server_visible=False)
        assert trio.current_time() - start == pytest.approx(2.55)


async def test_a_client_that_never_chooses_delays_the_workload_by_a_bounded_wait(autojump_clock):
    log = EventLog()
    start = trio.current_time()
    await _until_settled(cell("sse_canary"), log)
    assert trio.current_time() - start == pytest.approx(2.5 + FIRST_REQUEST_TIMEOUT_S)
    assert "had not chosen its transport and asked" in log.of(Note)[0].text


async def test_a_client_with_nothing_to_choose_is_not_waited_for(autojump_clock):
    start = trio.current_time()
    await _until_settled(cell("sse"), EventLog())
    assert trio.current_time() - start == 0
