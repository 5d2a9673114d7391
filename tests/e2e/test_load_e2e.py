"""`gauntlet load` through the real machinery: a Locust master and 2 worker processes on this
machine, the reference server or a team's app, real sockets on 127.0.0.1.

Nothing here asserts a speed. The assertions are the accounting: every published event
counted once per subscriber across both workers, and with a known-faulty endpoint exactly
one loss and one duplicate per subscriber; and that no Locust process outlives the run.
"""

from __future__ import annotations

import pytest
import trio

from gauntlet.load.run import LoadSpec, measure
from gauntlet.target import TargetChoice
from tests.e2e.conftest import alive

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.serial]

USERS, EVENTS = 12, 4


def small(transport: str = "sse") -> LoadSpec:
    return LoadSpec(
        transport,
        USERS,
        spawn_rate=60,
        rate_per_s=4,
        duration_s=EVENTS / 4,
        workers=2,
        deliver_within_s=3,
        connect_within_s=20,
    )


def users_per_worker(point: dict) -> list[int]:
    return sorted(w["users"] for w in point["worker_receipts"])


@pytest.mark.parametrize("transport", ["sse", "long_poll", "websocket", "sse_close_each"])
async def test_every_event_once_per_subscriber_across_two_workers(tmp_path, transport):
    with trio.fail_after(120):
        point = await measure(small(transport), TargetChoice(), [], tmp_path)
    assert point["error"] is None, point["error"]
    assert point["stop_reason"].startswith("complete")
    assert users_per_worker(point) == [USERS // 2, USERS // 2]  # Locust spread them
    assert (point["subscribers"], point["sent_events"]) == (USERS, EVENTS)
    summary = {
        k: point.get(k)
        for k in (
            "delivered",
            "lost",
            "duplicates",
            "reconnects",
            "client_errors",
            "stop_reason",
            "subscribed",
        )
    }
    assert point["expected_deliveries"] == point["delivered"] == USERS * EVENTS, summary
    assert (point["lost"], point["duplicates"], point["unexpected_ids"]) == (0, 0, 0)
    assert [e["lost"] for e in point["per_event"]] == [0] * EVENTS
    roles = sorted(p["role"] for p in point["processes"])
    assert roles == ["master", "server", "worker", "worker"]
    for p in point["processes"]:
        if p["role"] != "server":
            assert not alive(p["pid"]), f"{p['role']} {p['pid']} outlived the run"


async def test_losses_and_duplicates_are_exact_across_workers(tmp_path):
    spec = small()
    with trio.fail_after(120):
        point = await measure(
            spec, TargetChoice(app_spec="tests.e2e.lossy_push_app:app"), [], tmp_path
        )
    # No subscriber ever holds event 2: the harness ends the run deliver_within_s after the
    # last event (the master would otherwise wait for its time limit, every stream idle).
    assert point["stop_reason"].startswith("delivery window")
    assert point["error"] is None  # every user subscribed: the losses are the endpoint's
    assert users_per_worker(point) == [USERS // 2, USERS // 2]
    assert point["expected_deliveries"] == USERS * EVENTS
    assert point["lost"] == USERS  # event 2, once per subscriber
    assert point["duplicates"] == USERS  # event 3, once more per subscriber
    assert point["delivered"] == USERS * (EVENTS - 1)
    assert [e["lost"] for e in point["per_event"]] == [0, USERS, 0, 0]
    for p in point["processes"]:
        if p["role"] != "server":
            assert not alive(p["pid"])
