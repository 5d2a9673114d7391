"""The runner's scheduling: cells side by side up to `jobs`, results in spec order, a broken
environment stops the run and keeps what was measured. `run_cell` is replaced by a fake that
takes virtual time (trio's autojump clock), so no socket or process is involved."""

from __future__ import annotations

import json

import pytest
import trio

import gauntlet.runner as runner
from gauntlet.errors import GauntletError, HopStartError
from gauntlet.scenario import load_matrix

CELLS = list(load_matrix("smoke").cells)[:5]
DURATIONS_S = [3.0, 1.0, 1.5, 1.0, 1.0]


def fake_run_cell(running: list[int], peak: list[int], fail_at: int | None = None):
    async def run_cell(cell, workdir, progress, **where):
        i = CELLS.index(cell)
        running.append(i)
        peak[0] = max(peak[0], len(running))
        try:
            await trio.sleep(DURATIONS_S[i])
            if i == fail_at:
                raise HopStartError(f"hop 1 of {cell.id} failed to start: boom")
        finally:
            running.remove(i)
        return {
            "id": cell.id,
            "expected_verdict": None,
            "verdict": "PASS",
            "reason": "ok",
            "started_dir": str(workdir),
        }

    return run_cell


@pytest.mark.parametrize(("jobs", "wall_s"), [(1, 7.5), (2, 4.0), (5, 3.0)])
async def test_cells_run_side_by_side_up_to_jobs_and_keep_spec_order(
    autojump_clock, monkeypatch, tmp_path, jobs, wall_s
):
    running: list[int] = []
    peak = [0]
    monkeypatch.setattr(runner, "run_cell", fake_run_cell(running, peak))
    start = trio.current_time()
    outcome = await runner.run_cells(
        CELLS, run_id="r", matrix="smoke", time_scale=30, results_dir=tmp_path, jobs=jobs
    )
    assert trio.current_time() - start == pytest.approx(wall_s)
    assert peak[0] == min(jobs, len(CELLS))
    assert [c["id"] for c in outcome.document.to_json()["cells"]] == [c.id for c in CELLS]
    work_dirs = {c["started_dir"] for c in outcome.document.to_json()["cells"]}
    assert len(work_dirs) == len(CELLS)  # a folder per cell, even for equal cell ids
    assert outcome.error is None and not outcome.interrupted


async def test_a_hop_that_fails_to_start_stops_the_run_and_keeps_finished_cells(
    autojump_clock, monkeypatch, tmp_path
):
    monkeypatch.setattr(runner, "run_cell", fake_run_cell([], [0], fail_at=2))
    outcome = await runner.run_cells(
        CELLS, run_id="r", matrix="smoke", time_scale=30, results_dir=tmp_path, jobs=2
    )
    assert isinstance(outcome.error, HopStartError)
    # cell 1 (1 s) finished before cell 2 failed at 2.5 s; cell 0 (3 s) was cut down with it
    assert [c["id"] for c in outcome.document.to_json()["cells"]] == [CELLS[1].id]
    saved = json.loads(outcome.path.read_text())
    assert saved["interrupted"] is True and len(saved["cells"]) == 1


async def test_jobs_below_one_is_a_clear_error(tmp_path):
    with pytest.raises(GauntletError, match="jobs must be at least 1, got 0"):
        await runner.run_cells(
            CELLS, run_id="r", matrix="smoke", time_scale=30, results_dir=tmp_path, jobs=0
        )


async def test_a_browser_cell_runs_alone_and_the_others_side_by_side(
    autojump_clock, monkeypatch, tmp_path
):
    """Chromium takes both cores while it starts, so no cell is measured beside it."""
    cells = {c.id: c for c in load_matrix("browsers").cells}
    order = [
        "sse-direct",
        "sse-transparent",
        "browser_sse-direct",
        "sse-idle_timeout",
        "sse-lifetime_cap",
    ]
    beside: dict[str, set[str]] = {name: set() for name in order}
    running: list[str] = []

    async def run_cell(cell, workdir, progress, **where):
        for other in running:
            beside[other].add(cell.id)
            beside[cell.id].add(other)
        running.append(cell.id)
        await trio.sleep(1.0)
        running.remove(cell.id)
        return {"id": cell.id, "expected_verdict": None, "verdict": "PASS", "reason": "ok"}

    monkeypatch.setattr(runner, "run_cell", run_cell)
    start = trio.current_time()
    outcome = await runner.run_cells(
        [cells[name] for name in order],
        run_id="r",
        matrix="browsers",
        time_scale=30,
        results_dir=tmp_path,
        jobs=2,
    )
    assert beside == {
        "sse-direct": {"sse-transparent"},
        "sse-transparent": {"sse-direct"},
        "browser_sse-direct": set(),
        "sse-idle_timeout": {"sse-lifetime_cap"},
        "sse-lifetime_cap": {"sse-idle_timeout"},
    }
    assert trio.current_time() - start == pytest.approx(3.0)
    assert [c["id"] for c in outcome.document.to_json()["cells"]] == order
