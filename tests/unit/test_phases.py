"""Cells side by side: no set-up beside a workload, any overlap within one phase (MockClock).

harness/phases.py: a neighbour's mitmdump start-up (1.4 s of CPU, a fork under the
interpreter lock) put 300-600 ms stalls into a measuring cell's publisher on a loaded
machine. These tests pin the rule: a cell enters SETUP only when no cell is in MEASURE and
the reverse, cells in one phase overlap, and leaving on any path lets the other in.
"""

from __future__ import annotations

import pytest
import trio

from gauntlet.phases import MEASURE, NO_GATE, SETUP, PhaseGate


async def test_a_setup_waits_for_a_running_workload_to_end(autojump_clock):
    gate = PhaseGate()
    measuring, setting_up = gate.cell(), gate.cell()
    await measuring.enter(MEASURE)
    entered: list[float] = []

    async def set_up() -> None:
        await setting_up.enter(SETUP)
        entered.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(set_up)
        await trio.sleep(3)  # the workload's 3 s
        assert entered == []
        measuring.leave()
    assert entered == [pytest.approx(3)]
    assert gate.inside == {SETUP: 1, MEASURE: 0}


async def test_a_workload_waits_for_a_setup_and_moving_on_leaves_the_old_phase(autojump_clock):
    gate = PhaseGate()
    a, b = gate.cell(), gate.cell()
    await a.enter(SETUP)
    await b.enter(SETUP)  # two set-ups overlap
    assert gate.inside[SETUP] == 2
    started: list[float] = []

    async def measure() -> None:
        await a.enter(MEASURE)  # leaves a's SETUP, then waits for b's
        started.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(measure)
        await trio.sleep(1)
        assert started == [] and gate.inside == {SETUP: 1, MEASURE: 0}
        await b.enter(MEASURE)  # b done setting up: both measure side by side
    assert started == [pytest.approx(1)]
    assert gate.inside == {SETUP: 0, MEASURE: 2}
    a.leave()
    a.leave()  # idempotent: every exit path may call it
    b.leave()
    assert gate.inside == {SETUP: 0, MEASURE: 0}


async def test_a_cell_cancelled_while_waiting_holds_no_place(autojump_clock):
    gate = PhaseGate()
    measuring, waiting = gate.cell(), gate.cell()
    await measuring.enter(MEASURE)
    with trio.move_on_after(1):
        await waiting.enter(SETUP)
    waiting.leave()
    assert gate.inside == {SETUP: 0, MEASURE: 1}


async def test_a_cell_alone_never_waits(autojump_clock):
    await NO_GATE.enter(SETUP)
    await NO_GATE.enter(MEASURE)
    NO_GATE.leave()
    assert trio.current_time() == 0
