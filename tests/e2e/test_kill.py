"""Kill tests: SIGTERM and SIGKILL of the harness mid-run, SIGINT and SIGTERM mid-calibration.

After each: no hop alive, no port listening, no key on disk (after SIGKILL: once the next run
has swept), and a valid results.json holding every finished cell. Every wait is on a progress
event the run prints (`--progress json`) or on a process exit, and bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import trio

from tests.e2e.conftest import (
    SMOKE_RUN,
    Topology,
    count,
    gauntlet_cmd,
    outlived,
    progress_events,
    signal_mid_run,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def _wait_gone(pid: int, bound_s: float = 10) -> None:
    """Wait for any process (not only a child) to exit, on its pidfd."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        with trio.fail_after(bound_s):
            await trio.lowlevel.wait_readable(fd)  # readable once the process has exited
    finally:
        os.close(fd)


def _workdir(text: str) -> Path:
    """The work folder of a run (RunStarted) or of a calibration (WorkDir)."""
    found = [
        e.get("workdir") or e.get("path")
        for e in progress_events(text)
        if e["event"] in ("RunStarted", "WorkDir")
    ]
    assert found, text
    return Path(found[0])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_mid_run_leaves_nothing_and_keeps_finished_cells(tmp_path, signum):
    results = tmp_path / "results"
    run = await signal_mid_run(
        (*SMOKE_RUN, "--no-calibration", "--results", str(results)),
        lambda e: count(e, "Publishing") >= 2,
        signum,
    )
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    topology = Topology.of(run.stderr)
    assert topology.pids
    assert not await outlived(topology)
    assert not _workdir(run.stderr).exists()  # keys and certificates with it
    doc = json.loads((results / "latest" / "results.json").read_text())
    assert doc["interrupted"] is True and doc["complete"] is False
    assert 1 <= len(doc["cells"]) < 12


async def test_sigkill_of_the_harness_keeps_finished_cells_and_the_next_run_sweeps(tmp_path):
    results = tmp_path / "results"
    run = await signal_mid_run(  # SIGKILL: no finally runs in the harness
        (*SMOKE_RUN, "--no-calibration", "--results", str(results)),
        lambda e: count(e, "CellFinished") >= 1 and count(e, "Publishing") >= 2,
        signal.SIGKILL,
    )
    topology = Topology.of(run.stderr)
    for pid in topology.pids:  # PR_SET_PDEATHSIG: the kernel kills every hop
        await _wait_gone(pid)
    assert not await outlived(topology)
    (run_id,) = [e["run_id"] for e in run.events if e["event"] == "RunStarted"]
    doc = json.loads((results / run_id / "results.json").read_text())
    assert doc["complete"] is False
    assert len(doc["cells"]) >= 1 and all(c["verdict"] for c in doc["cells"])
    workdir = _workdir(run.stderr)
    assert workdir.exists()  # nothing could remove it ...
    done = subprocess.run(
        gauntlet_cmd(
            "run",
            "--transport",
            "sse",
            "--intermediary",
            "direct",
            "--no-calibration",
            "--no-plots",
            "--results",
            str(results),
        ),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert not workdir.exists()  # ... until the next run swept it


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_during_the_first_calibration_exits_130_in_one_line(tmp_path, signum):
    results = tmp_path / "results"  # empty: the run calibrates first
    run = await signal_mid_run(  # the first step of a calibration: direct's p50, a hop starting
        (*SMOKE_RUN, "--results", str(results)), lambda e: count(e, "Step") >= 1, signum
    )
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("gauntlet: interrupted")
    assert not _workdir(run.stderr).exists()
    assert not (results / "calibration").exists()
