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


def test_new_records_returns_only_what_was_appended_since_its_last_call():
    from gauntlet.eventlog import NewRecords

    log = EventLog()
    new = NewRecords()
    log.append(Note(0, "a"))
    log.append(Note(1, "b"))
    assert new(log) == [Note(0, "a"), Note(1, "b")]
    assert new(log) == []
    log.append(Received(1, 2, 1))
    assert new(log) == [Received(1, 2, 1)]


async def test_the_cells_delivery_condition_wakes_on_the_last_id_and_on_the_end_marker(
    autojump_clock: trio.testing.MockClock,
):
    """topology._Delivered: every id received once; a token stream also needs its end marker."""
    from gauntlet.eventlog import EndOfAnswer
    from gauntlet.topology import _Delivered

    log = EventLog()
    plain, stream = _Delivered(2), _Delivered(2, needs_end=True)
    log.append(Received(1, 0, 1))
    log.append(Received(1, 0, 1))  # a duplicate counts once
    assert not plain(log) and not stream(log)
    log.append(Received(2, 0, 1))
    assert plain(log) and not stream(log)
    with trio.move_on_after(1) as waited:
        await log.wait_until(stream)
    assert waited.cancelled_caught  # still no end marker
    log.append(EndOfAnswer(0, 1))
    with trio.fail_after(1):
        assert await log.wait_until(stream)
