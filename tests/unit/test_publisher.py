"""The publisher: strictly increasing ids, resumable from any id, wakes waiters (MockClock)."""

from __future__ import annotations

import json

import trio
import trio.testing

from gauntlet.eventlog import EventLog, Published
from gauntlet.server.publisher import Publisher


def test_ids_increase_from_one_and_every_event_is_logged_with_its_size():
    log = EventLog()
    pub = Publisher(log, payload_bytes=100)
    events = [pub.publish() for _ in range(3)]
    assert [e.id for e in events] == [1, 2, 3]
    assert all(len(e.payload) == 100 for e in events)
    assert json.loads(events[1].payload)["id"] == 2
    assert [(r.id, r.size) for r in log.of(Published)] == [(1, 100), (2, 100), (3, 100)]


def test_resume_after_any_id():
    pub = Publisher(EventLog())
    for _ in range(5):
        pub.publish()
    assert [e.id for e in pub.after(0)] == [1, 2, 3, 4, 5]
    assert [e.id for e in pub.after(3)] == [4, 5]
    assert pub.after(5) == []


async def test_waiters_wake_on_publish_and_get_everything_after_their_cursor(
    autojump_clock: trio.testing.MockClock,
):
    pub = Publisher(EventLog())
    got: list[list[int]] = []

    async def waiter(cursor: int) -> None:
        got.append([e.id for e in await pub.wait_after(cursor)])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter, 0)
        await trio.sleep(10)  # virtual time: the waiter is parked until a publish
        assert got == []
        pub.publish()
        pub.publish()
    assert got == [[1, 2]]
