"""Run a list of cells one after another, stop cleanly on Ctrl-C, and write the results.

Ctrl-C (SIGINT) and SIGTERM are turned into a cancellation of the run rather than a
KeyboardInterrupt thrown at an arbitrary point: the cell in flight is torn down (its hops
killed, its server closed), the cells already measured are written with
`"interrupted": true`, and the caller exits 130. Nothing measured is lost.
"""

from __future__ import annotations

import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from harness.errors import GauntletError
from harness.results import build_document, write_document
from harness.scenario import CellSpec
from harness.topology import Progress, run_cell

REPO = Path(__file__).resolve().parent.parent


@dataclass
class RunOutcome:
    document: dict[str, Any]
    path: Path
    interrupted: bool
    error: GauntletError | None


async def _cancel_on_signal(scope: trio.CancelScope, flag: list[bool], *, task_status) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            flag.append(True)
            scope.cancel()
            return


async def run_cells(
    cells: list[CellSpec], *, run_id: str, matrix: str, time_scale: float,
    results_dir: Path, progress: Progress = lambda _: None, ids: list[str] | None = None,
    calibration: dict[str, Any] | None = None,
) -> RunOutcome:  # fmt: skip
    """Measure `cells` in order; `ids` (one per cell) name them when matrices are mixed.

    `calibration` (harness.calibrate.excerpt) goes into the results document as it is."""
    done: list[dict[str, Any]] = []
    interrupted: list[bool] = []
    failure: GauntletError | None = None
    with tempfile.TemporaryDirectory(prefix=f"gauntlet-{run_id}-") as tmp:
        workdir = Path(tmp)
        progress(f"run {run_id}: {len(cells)} cells, time scale 1/{time_scale:g}, work dir {tmp}")
        async with trio.open_nursery() as nursery:
            await nursery.start(_cancel_on_signal, nursery.cancel_scope, interrupted)
            started = trio.current_time()
            try:
                for i, cell in enumerate(cells, 1):
                    progress(f"[{i}/{len(cells)}] {ids[i - 1] if ids else cell.id} ...")
                    entry = await run_cell(cell, workdir, progress)
                    if ids is not None:
                        entry["id"] = ids[i - 1]
                    done.append(entry)
                    elapsed = trio.current_time() - started
                    eta = elapsed / i * (len(cells) - i)
                    progress(f"{_cell_line(i, len(cells), entry)} "
                             f"[elapsed {elapsed:.0f} s, ETA {eta:.0f} s]")  # fmt: skip
            except GauntletError as exc:
                failure = exc
            nursery.cancel_scope.cancel()
    doc = build_document(
        run_id=run_id, matrix=matrix, time_scale=time_scale, cells=done,
        interrupted=bool(interrupted) or failure is not None, repo=REPO,
        calibration=calibration,
    )  # fmt: skip
    path = write_document(doc, results_dir)
    return RunOutcome(doc, path, bool(interrupted), failure)


def _cell_line(i: int, n: int, entry: dict[str, Any]) -> str:
    mark = "" if entry["expected_verdict"] in (None, entry["verdict"]) else "  <-- expected " + \
        entry["expected_verdict"]
    return f"[{i}/{n}] {entry['id']}: {entry['verdict']}: {entry['reason']}{mark}"
