"""Every transport through real processes: the buffering matrix from
scenarios/transports.toml, and the WebSocket fallback against a killing proxy (direct over
h1, HTTPS and HTTP/2: test_direct_e2e.py; the forward-proxy matrices:
test_forward_proxy_matrices_e2e.py; split so the side-by-side runner spreads them).

Determinism contract: loopback only, OS-chosen ports, a hard `fail_after` on every wait.
Tolerance: direct cells must deliver everything with p95 under the 250 ms budget; the slowest
by design is short polling (interval 5 s / 30 = 167 ms).
"""

from __future__ import annotations

import json
import subprocess

import pytest
import trio

from gauntlet.scenario import CellSpec, load_intermediaries
from gauntlet.spec import HopSpec
from gauntlet.topology import run_cell
from tests.e2e.cells import TWO_SECONDS, cell
from tests.e2e.conftest import gauntlet_cmd

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def transports_matrix(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    done = subprocess.run(
        gauntlet_cmd(
            "run",
            "--matrix",
            "transports",
            "--no-plots",
            "--no-calibration",
            "--results",
            str(results),
        ),
        capture_output=True,
        text=True,
        timeout=400,
    )
    doc = json.loads((results / "latest" / "results.json").read_text())
    return done, {c["id"]: c for c in doc["cells"]}


def test_transports_matrix_meets_every_expectation(transports_matrix):
    done, cells = transports_matrix
    assert len(cells) == 30
    mismatches = {
        k: (c["verdict"], c["reason"])
        for k, c in cells.items()
        if c["verdict"] != c["expected_verdict"]
    }
    assert not mismatches, done.stdout[-3000:]
    assert done.returncode == 0


def test_store_and_forward_what_gets_through(transports_matrix):
    _, cells = transports_matrix
    delivered = {
        c["transport"]: c["metrics"]["delivered"]
        for c in cells.values()
        if c["intermediary"] == "store_and_forward"
    }
    for transport in (
        "sse_close_each",
        "sse_canary",
        "long_poll",
        "short_poll",
        "websocket",
        "websocket_fallback",
    ):
        assert delivered[transport] == 15, transport
    assert delivered["sse"] == delivered["sse_padded"] == 0


def test_canary_fallback_is_said_in_the_event_log(transports_matrix):
    _, cells = transports_matrix
    held = cells["sse_canary-store_and_forward"]
    assert any("falling back to long polling" in n for n in held["notes"])
    assert any("staying on sse" in n for n in cells["sse_canary-direct"]["notes"])


def test_padding_gets_the_first_event_through_a_small_threshold(transports_matrix):
    _, cells = transports_matrix
    padded = cells["sse_padded-small_threshold_buffer"]["metrics"]
    plain = cells["sse-small_threshold_buffer"]["metrics"]
    assert padded["time_to_first_event_ms"] < 100
    assert plain["time_to_first_event_ms"] > 1000  # held until the stream crosses 1 KiB


def test_each_transport_reports_its_cost(transports_matrix):
    _, cells = transports_matrix
    direct = {c["transport"]: c["metrics"] for c in cells.values() if c["intermediary"] == "direct"}
    assert direct["sse"]["requests"] == 1 and direct["sse"]["reconnects"] == 0
    assert direct["sse_close_each"]["reconnects"] >= 10
    assert direct["short_poll"]["requests"] > direct["long_poll"]["requests"]
    assert all(m["bytes_received"] > 0 for m in direct.values())


async def test_websocket_fallback_gives_up_on_a_killing_proxy_and_keeps_polling(tmp_path):
    kill = (HopSpec(("ws_accept_then_kill",)),)

    def four_seconds(transport: str) -> CellSpec:
        return cell(kill, "kill", transport=transport, events=20, rate_per_s=5, timing=TWO_SECONDS)

    with trio.fail_after(60):
        naive = await run_cell(four_seconds("websocket"), tmp_path)
        fallback = await run_cell(four_seconds("websocket_fallback"), tmp_path)
    assert naive["metrics"]["reconnects"] >= 5  # flaps all along: accepted, killed, again
    assert fallback["metrics"]["delivered"] == 20
    assert any("given up after 3 failed probes" in n for n in fallback["notes"])


@pytest.mark.slow  # reconnects counted in a real-time budget: short of 5 twice beside
@pytest.mark.serial  # another worker (load 8-22), 5+ alone; make check runs it alone
async def test_adaptive_sse_guesses_wrong_behind_an_h2_front_h1_back_hop(tmp_path):
    chain = load_intermediaries()["corporate_tls_cdn"].hops[1:]  # the CDN edge alone
    with trio.fail_after(30):
        spec = cell(
            chain,
            transport="sse_adaptive",
            protocol="h2",
            events=6,
            rate_per_s=10,
            timing=TWO_SECONDS,
        )
        entry = await run_cell(spec, tmp_path)
    # The client speaks h2, the server sees HTTP/1.1 and closes after every event: each
    # event costs the client a reconnect it did not need.
    assert entry["server_saw"] == ["HTTP/1.1 /sse"]
    assert entry["metrics"]["reconnects"] >= 5


async def test_sse_client_stops_for_good_on_a_non_200_answer(tmp_path):
    from functools import partial

    from gauntlet.clients.sse import run_sse
    from gauntlet.eventlog import Disconnected, Request
    from tests.e2e.signature import rig

    with trio.fail_after(10):
        client = partial(run_sse, path="/no-such-stream", default_retry_ms=10)
        async with rig("sse", [], tmp_path, client=client) as r:
            await r.wait_until(lambda log: bool(log.of(Disconnected)))
            await trio.sleep(0.3)  # with a 10 ms retry, a reconnecting client would ask again
    assert len(r.log.of(Request)) == 1
    assert "failed for good: status 404" in r.log.of(Disconnected)[0].reason
