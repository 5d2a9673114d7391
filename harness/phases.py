"""Cells side by side never start hops while another cell is measuring.

`jobs = 2` runs two cells at once in one harness process, and a cell's set-up is its
heaviest part for the machine: each mitmdump hop imports mitmproxy (1.4 s of CPU for
`mitmdump --version` alone; 8 s of wall time at load 13 on 2 cores), and the fork that
starts it runs with the interpreter lock held (harness/spawn.py's `preexec_fn`). Measured
beside a busy neighbour, a cell's publisher (in the same process) fell 300-600 ms behind its
schedule, on `direct` paths too (a default-profile run at load 12-14: `smoke:long_poll-direct`
p95 354 ms, `transports:short_poll-direct` 639 ms, DEGRADED against a 250 ms budget): a cost
the harness added to one cell, counted against that cell's path.

So a cell has two phases that matter: `SETUP` (server, hops started, the health check
through the chain) and `MEASURE` (client, workload, delivery wait, the check after it).
Cells in the same phase overlap freely (two workloads are mostly idle at 5 events/s; two
set-ups only compete with each other); a cell enters a phase only when no cell is in the
other one. With two jobs neither starves: a phase lasts seconds, bounded by the cell's own
waits. Pure trio, no clock: tests/unit/test_phases.py drives it under MockClock.
"""

from __future__ import annotations

import trio

SETUP = "setup"
MEASURE = "measure"
_OTHER = {SETUP: MEASURE, MEASURE: SETUP}


class PhaseGate:
    """Admits any number of cells to one phase, none to the other phase meanwhile."""

    def __init__(self) -> None:
        self.inside = {SETUP: 0, MEASURE: 0}
        self._changed = trio.Event()

    def cell(self) -> CellPhase:
        return CellPhase(self)

    async def _enter(self, phase: str) -> None:
        while self.inside[_OTHER[phase]]:
            await self._changed.wait()
        self.inside[phase] += 1

    def _leave(self, phase: str) -> None:
        self.inside[phase] -= 1
        self._changed.set()
        self._changed = trio.Event()


class CellPhase:
    """One cell's place in the gate: `enter` moves it to a phase (leaving the one it was
    in), `leave` takes it out; both are safe to call from any exit path."""

    def __init__(self, gate: PhaseGate | None) -> None:
        self.gate = gate
        self.phase: str | None = None

    async def enter(self, phase: str) -> None:
        self.leave()
        if self.gate is not None:
            await self.gate._enter(phase)
            self.phase = phase

    def leave(self) -> None:
        if self.gate is not None and self.phase is not None:
            self.gate._leave(self.phase)
            self.phase = None


NO_GATE = CellPhase(None)
"""A cell measured alone (jobs = 1, tests, fidelity): nothing to wait for."""
