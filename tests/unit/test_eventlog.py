"""EventLog.wait_until: waits wake on appended records, never by polling (trio's MockClock)."""

from __future__ import annotations

import trio
import trio.testing

from gauntlet.eventlog import EventLog, Note, Received


async def test_wait_until_returns_the_conditions_value_once_a_record_makes_it_true(
    autojump_clock: trio.testing.MockClock,
):
    log = EventLog()
    got: list[list[Received]] = []

    async def waiter() -> None:
        got.append(await log.wait_until(lambda lg: lg.of(Received)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.sleep(5)  # virtual time: the waiter stays parked
        log.append(Note(0, "not yet"))
        await trio.sleep(5)
        assert got == []
        log.append(Received(1, 0, 1))
    assert got == [[Received(1, 0, 1)]]


async def test_wait_until_does_not_wait_when_the_condition_already_holds():
    log = EventLog()
    log.append(Note(0, "there"))
    with trio.fail_after(1):
        assert await log.wait_until(lambda lg: len(lg.records)) == 1
