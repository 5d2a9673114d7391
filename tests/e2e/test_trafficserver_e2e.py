"""Apache Traffic Server as a real hop: Debian's package as shipped, started by Gauntlet.

harness/real/trafficserver.py runs it unprivileged-capable in the cell's work dir (a runroot),
on a socket Gauntlet bound (`server_ports PORT:fd=N`). Measured with trafficserver 9.2: it
streams SSE as it comes, carries WebSocket with the plain http remap rule, and cuts a stream
silent longer than transaction_no_activity_timeout (30 s, scaled). Skips without the binary.
"""

from __future__ import annotations

import pytest
import trio

from gauntlet import real
from gauntlet.scenario import CellSpec, Intermediary, Timing, Workload
from gauntlet.spec import HopSpec
from gauntlet.topology import run_cell
from gauntlet.verdict import Budget

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ATS = "trafficserver:defaults"
CELL_TIMEOUT_S = 40.0


@pytest.fixture(autouse=True)
def need_trafficserver() -> None:
    why = real.missing(ATS)
    if why is not None:
        pytest.skip(why)


def cell(transport: str, workload: Workload) -> CellSpec:
    hop = HopSpec((), mode="reverse", real=ATS)
    inter = Intermediary(ATS, "Traffic Server as Debian ships it", (hop,))
    return CellSpec("test", transport, inter, workload, Budget(250), Timing(30, 40), None, None)


@pytest.mark.parametrize("transport", ["sse", "websocket"])
async def test_default_trafficserver_streams_every_event_as_it_comes(tmp_path, transport):
    """No buffering: every event within the 250 ms p95 budget, one connection, HTTP/1.1 up."""
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(cell(transport, Workload(8, 20, 64)), tmp_path)
    m = entry["metrics"]
    assert (m["sent"], m["delivered"], m["reconnects"]) == (8, 8, 0), entry["reason"]
    assert entry["verdict"] == "PASS"
    assert all(seen.startswith("HTTP/1.1 ") for seen in entry["server_saw"])
    hop = entry["hops"][0]
    assert hop["real"] == ATS
    assert hop["timeouts"]["real_s"]["transaction_no_activity_timeout_out"] == 30
    assert hop["timeouts"]["scaled_s"]["transaction_no_activity_timeout_out"] == 1.0


async def test_default_trafficserver_cuts_a_silent_stream(tmp_path):
    """150 s of silence (5 s at scale 30) outlasts transaction_no_activity_timeout (30 s -> 1 s
    written; ATS checks inactivity about once a second): the stream is cut and the client
    reconnects with Last-Event-ID, so nothing is lost."""
    quiet = Workload(4, 20, 64, quiet_after=2, quiet_real_s=150)
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(cell("sse", quiet), tmp_path)
    m = entry["metrics"]
    assert m["delivered"] == 4 and m["reconnects"] >= 1, (m, entry["reason"])
