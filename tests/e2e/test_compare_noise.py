"""`compare` on real runs: a loaded machine is no regression, a hop adding 20 ms is.

Three runs of three smoke cells through `transparent` (15 events each, about 4 s a cell),
one cell at a time through the runner API:

1. the cells as they are;
2. the same cells while a busy loop spins on every core (children of harness/spawn.py, so
   they die with the test; each is also bounded by `timeout`): compare must report no
   regression, since the load delays some events by a scheduler slice, not every event;
3. the same cells with a `network` hop adding 20 ms to every chunk behind `transparent` in
   two of them: compare must report exactly those two, each with an effect of 20 ms plus
   what one more relay costs. Written tolerance: at least 20 - 2 ms (the calibration's band,
   harness/instrument/calibrate.py) and at most 20 + 10 ms, since the added hop is a whole mitmdump
   process of its own (about 0.5 ms on an idle machine, several ms on a busy shared one;
   measured 26.2 ms for sse with other test runs on the machine).
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import trio

from gauntlet.report.compare import compare
from gauntlet.runner import run_cells
from gauntlet.scenario import CellSpec, load_matrix
from gauntlet.spawn import kill_group, spawn
from gauntlet.spec import HopSpec

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.serial]

CELLS = ("sse-transparent", "long_poll-transparent", "websocket-transparent")
DELAYED = ("sse-transparent", "long_poll-transparent")
DELAY_MS = 20
BUSY_LIMIT_S = 90  # each busy loop ends by itself even if this test is killed hard


def smoke_cells() -> list[CellSpec]:
    cells = {c.id: c for c in load_matrix("smoke").cells}
    return [cells[name] for name in CELLS]


def with_delay(cell: CellSpec) -> CellSpec:
    """The cell with a `network` hop of DELAY_MS milliseconds after its own hops.

    `network_latency_ms` is not one of the scaled options (proxies/network.py declares no
    SCALED_OPTIONS), so the hop gets DELAY_MS as written, whatever the cell's time scale."""
    scale = cell.timing.time_scale
    hop = HopSpec(("network",), options=(("network_latency_ms", str(DELAY_MS)),))
    inter = dataclasses.replace(cell.intermediary, hops=(*cell.intermediary.hops, hop))
    delayed = dataclasses.replace(cell, intermediary=inter)
    assert dict(delayed.hops[-1].options)["network_latency_ms"] == str(DELAY_MS), scale
    return delayed


async def measure(cells: list[CellSpec], tmp_path, name: str) -> dict:
    with trio.fail_after(60):
        outcome = await run_cells(
            cells,
            run_id=name,
            matrix="smoke",
            time_scale=cells[0].timing.time_scale,
            results_dir=tmp_path / name,
        )
    assert outcome.error is None and not outcome.interrupted
    return outcome.document.to_json()


async def test_load_is_not_a_regression_and_a_20_ms_hop_is(tmp_path):
    cells = smoke_cells()
    base = await measure(cells, tmp_path, "base")
    busy = [
        await spawn(["timeout", str(BUSY_LIMIT_S), "sh", "-c", "while :; do :; done"])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        loaded = await measure(cells, tmp_path, "loaded")
    finally:
        for child in busy:
            await kill_group(child)
    delayed = await measure(
        [with_delay(c) if c.id in DELAYED else c for c in cells], tmp_path, "delayed"
    )

    under_load = compare(base, loaded)
    print("\n".join(under_load.lines()))
    assert under_load.regressions == [], under_load.lines()

    slower = compare(base, delayed)
    print("\n".join(slower.lines()))
    assert sorted(r.cell for r in slower.regressions) == sorted(DELAYED), slower.lines()
    for r in slower.regressions:
        assert r.shift is not None and DELAY_MS - 2 <= r.shift.shift_ms <= DELAY_MS + 10, str(r)
