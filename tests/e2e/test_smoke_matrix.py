"""The smoke matrix through real processes: verdicts as expected, nothing left behind.

Runs `python -m gauntlet run --matrix smoke` once (real hypercorn server, real mitmdump hops,
real clients, real sockets) and checks the acceptance of the walking skeleton against the
results document it writes. Tolerance: PASS cells must keep p95 under the 250 ms budget;
loopback latencies here are a few ms, so the margin is two orders of magnitude. The results
folder is fresh, so the run first measures the instrument's calibration, as `make demo` does on
a new checkout, and its report states it.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import trio

from tests.e2e.conftest import Topology, alive, gauntlet_cmd, port_refuses, progress_events

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    done = subprocess.run(
        gauntlet_cmd("run", "--matrix", "smoke", "--progress", "json", "--results", str(results)),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    doc = json.loads((results / "latest" / "results.json").read_text())
    return done, doc, results


def test_exit_status_zero_when_every_cell_meets_its_expectation(smoke_run):
    done, _, _ = smoke_run
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_cell_verdict_equals_expected(smoke_run):
    _, doc, _ = smoke_run
    assert len(doc["cells"]) == 12
    mismatches = {
        c["id"]: (c["verdict"], c["reason"], c["metrics"])
        for c in doc["cells"]
        if c["verdict"] != c["expected_verdict"]
    }
    assert not mismatches


def test_sse_through_store_and_forward_delivers_nothing(smoke_run):
    _, doc, _ = smoke_run
    (cell,) = [c for c in doc["cells"] if c["id"] == "sse-store_and_forward"]
    assert cell["verdict"] == "FAIL"
    assert cell["metrics"]["sent"] == 15
    assert cell["metrics"]["delivered"] == 0
    assert cell["metrics"]["time_to_first_event_ms"] is None


def test_every_other_cell_passes_with_p95_under_250_ms(smoke_run):
    _, doc, _ = smoke_run
    for cell in doc["cells"]:
        if cell["id"] == "sse-store_and_forward":
            continue
        m = cell["metrics"]
        assert cell["verdict"] == "PASS", cell["id"]
        assert m["delivered"] == m["sent"] == 15, cell["id"]
        assert m["lost"] == 0 and m["latency_ms"]["p95"] < 250, cell["id"]


def test_close_each_reconnects_and_long_poll_pays_in_requests(smoke_run):
    _, doc, _ = smoke_run
    cells = {c["id"]: c["metrics"] for c in doc["cells"]}
    assert cells["sse_close_each-direct"]["reconnects"] >= 1
    assert cells["sse-direct"]["reconnects"] == 0
    assert cells["long_poll-direct"]["requests"] > cells["sse-direct"]["requests"]


def test_results_document_has_the_stable_names(smoke_run):
    _, doc, results = smoke_run
    assert doc["schema_version"] == 1
    for cell in doc["cells"]:
        for key in ("transport", "intermediary", "verdict", "expected_verdict", "reason"):
            assert key in cell
        m = cell["metrics"]
        for key in ("sent", "delivered", "lost", "duplicates", "time_to_first_event_ms"):
            assert key in m
        assert set(m["latency_ms"]) == {"p50", "p95", "p99", "max"}
        assert len(cell["samples"]) == 15
    assert doc["time_scale"] == 30
    assert (results / "latest").resolve().name == doc["run_id"]


def test_the_report_header_states_the_instruments_measured_error(smoke_run):
    _, doc, results = smoke_run
    cal = doc["calibration"]
    assert cal["status"] == "calibrated", cal
    assert [p["kind"] for p in cal["points"]] == ["delay", "delay", "delay", "hold"]
    assert (results / "calibration" / "latest.json").is_file()
    page = (results / doc["run_id"] / "report.html").read_text()
    assert 'id="calibration"' in page and "Instrument calibration:" in page
    assert cal["id"] in (results / doc["run_id"] / "summary.md").read_text()


def test_plots_are_written_beside_the_results(smoke_run):
    _, doc, results = smoke_run
    pngs = sorted((results / doc["run_id"]).glob("*.png"))
    assert pngs, "no plot written"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_is_printed_with_a_row_per_cell(smoke_run):
    done, doc, _ = smoke_run
    for cell in doc["cells"]:
        assert cell["transport"] in done.stdout and cell["intermediary"] in done.stdout


async def test_no_process_or_port_of_the_run_outlives_it(smoke_run):
    done, _, _ = smoke_run
    topology = Topology()
    for event in progress_events(done.stderr):
        topology.read(event)
    assert len(topology.pids) == 8, "expected one hop pid per proxied cell"
    assert len(topology.ports) >= 20
    assert not [pid for pid in topology.pids if alive(pid)]
    with trio.fail_after(10):
        listening = [p for p in topology.ports if not await port_refuses(p)]
    assert not listening
