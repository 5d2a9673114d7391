"""Run a list of cells, one at a time or a few side by side; stop cleanly on Ctrl-C; write results.

Ctrl-C (SIGINT) and SIGTERM are turned into a cancellation of the run rather than a
KeyboardInterrupt thrown at an arbitrary point: the cells in flight are torn down (their hops
killed, their servers closed), the cells already measured are written with
`"interrupted": true`, and the caller exits 130. Nothing measured is lost: results.json is
rewritten after every cell, marked `complete: false` until the run ends, so even SIGKILL
leaves every finished cell on disk. Keys and certificates live in one private work folder
(harness/workdir.py), removed on every exit path and swept by the next run after a SIGKILL.
"""

from __future__ import annotations

import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from gauntlet import added_latency
from gauntlet.clients import TRANSPORTS
from gauntlet.errors import GauntletError
from gauntlet.instrument.heap import freeze_startup_heap
from gauntlet.phases import PhaseGate
from gauntlet.progress import CellFinished, CellStarted, Progress, RunStarted, ignore
from gauntlet.repeats import summarize as summarize_repeats
from gauntlet.results import (
    RESULTS_FILE,
    PartialDocument,
    ResultsDocument,
    build_document,
    json_safe,
    write_document,
    write_text_atomic,
)
from gauntlet.scenario import CellSpec
from gauntlet.target import TargetChoice
from gauntlet.topology import run_cell
from gauntlet.workdir import private_workdir

REPO = Path(__file__).resolve().parent.parent


@dataclass
class RunOutcome:
    document: ResultsDocument
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
    cells: list[CellSpec],
    *,
    run_id: str,
    matrix: str,
    time_scale: float,
    results_dir: Path,
    progress: Progress = ignore,
    ids: list[str] | None = None,
    calibration: dict[str, Any] | None = None,
    jobs: int = 1,
    target: TargetChoice | None = None,
    server_socket: socket.socket | None = None,
) -> RunOutcome:
    """Measure `cells`, `jobs` at a time; `ids` (one per cell) name them when matrices are mixed.

    Results keep the cells' order whatever order they finish in. Each cell is its own
    topology (server, hops, CA, ports, work folder), so cells running side by side share
    nothing but the machine: `jobs` must stay below what the machine can run without
    slowing a cell down (ARCHITECTURE.md: the default profile's 2 on 2 cores, checked by
    comparing latencies against a one-at-a-time run); a cell whose client is a browser
    takes every slot, so nothing is measured beside Chromium (`_slots_needed`), and no cell
    starts its hops while another runs its workload (harness/phases.py). `calibration`
    (gauntlet.instrument.calibrate.excerpt) goes into the results document as it is. `target` and
    `server_socket` go to every cell (harness/topology.py: run_cell); both mean one endpoint
    or one port, so the caller runs such cells one at a time."""
    if jobs < 1:
        raise GauntletError(f"jobs must be at least 1, got {jobs}")
    freeze_startup_heap()  # the harness's own GC pauses out of the cells' latencies
    measured: list[dict[str, Any] | None] = [None] * len(cells)
    interrupted: list[bool] = []
    failures: list[GauntletError] = []
    n = len(cells)
    partial = PartialDocument(
        build_document(
            run_id=run_id,
            matrix=matrix,
            time_scale=time_scale,
            cells=[],
            interrupted=False,
            repo=REPO,
            calibration=calibration,
            complete=False,
        ),
        results_dir / run_id / RESULTS_FILE,
        len(cells),
    )
    write_text_atomic(partial.text(), partial.path)
    saving = trio.Lock()

    async def save_so_far() -> None:  # after every cell: SIGKILL loses only cells in flight
        async with saving:
            await trio.to_thread.run_sync(write_text_atomic, partial.text(), partial.path)

    with private_workdir("run") as workdir:
        tmp = str(workdir)
        progress(RunStarted(run_id, n, jobs, time_scale, tmp))
        async with trio.open_nursery() as nursery:
            await nursery.start(_cancel_on_signal, nursery.cancel_scope, interrupted)
            started = trio.current_time()
            slots = trio.Semaphore(jobs)
            gate = PhaseGate() if jobs > 1 else None  # no set-up beside a workload

            async def measure(
                i: int, cell: CellSpec, cancel: trio.CancelScope, slots_held: int
            ) -> None:
                name = ids[i] if ids else cell.id
                progress(CellStarted(i + 1, n, name))
                try:
                    entry = await run_cell(
                        cell,
                        workdir / f"{i:04d}",
                        progress,
                        server_socket=server_socket,
                        target=target,
                        gate=gate,
                    )
                except GauntletError as exc:  # the environment is broken: stop the run
                    failures.append(exc)
                    cancel.cancel()
                    return
                finally:
                    for _ in range(slots_held):
                        slots.release()
                if ids is not None:
                    entry["id"] = name
                measured[i] = json_safe(entry)
                partial.add(i, entry)
                with trio.CancelScope(shield=True):
                    await save_so_far()
                finished = sum(e is not None for e in measured)
                elapsed = trio.current_time() - started
                eta = elapsed / finished * (n - finished)
                progress(_finished(i + 1, n, entry, finished, elapsed, eta))

            async with trio.open_nursery() as cell_nursery:
                for i, cell in enumerate(cells):
                    held = _slots_needed(cell, jobs)
                    for _ in range(held):  # cells start in spec order, at most `jobs` at once
                        await slots.acquire()
                    cell_nursery.start_soon(measure, i, cell, cell_nursery.cancel_scope, held)
            nursery.cancel_scope.cancel()
    done = added_latency.annotate([e for e in measured if e is not None])
    failure = failures[0] if failures else None
    doc = build_document(
        run_id=run_id,
        matrix=matrix,
        time_scale=time_scale,
        cells=done,
        interrupted=bool(interrupted) or failure is not None,
        repo=REPO,
        calibration=calibration,
        complete=not interrupted and failure is None,
    )
    if (repeated := summarize_repeats(done)) is not None:  # verdicts per cell over repeats
        doc.repeats = repeated
    path = write_document(doc, results_dir)
    return RunOutcome(doc, path, bool(interrupted), failure)


def _slots_needed(cell: CellSpec, jobs: int) -> int:
    """All of them for a cell whose client is a browser (harness/clients: runs_alone), so
    no cell measures beside Chromium; one otherwise. A transport outside the catalogue
    (rejected at load) takes one."""
    transport = TRANSPORTS.get(cell.transport)
    return jobs if transport is not None and transport.runs_alone else 1


def _finished(
    i: int, n: int, entry: dict[str, Any], done: int, elapsed_s: float, eta_s: float
) -> CellFinished:
    budget = (entry.get("spec") or {}).get("budget") or {}
    return CellFinished(
        i,
        n,
        entry["id"],
        entry["verdict"],
        entry["reason"],
        entry["expected_verdict"],
        budget.get("added_p50_ms") is not None,
        done,
        elapsed_s,
        eta_s,
    )
