"""The matrices behind forward proxies, run as `gauntlet run` does: tls (what HTTPS saves
from which proxy) and corporate_ws (WebSocket through CONNECT tunnels and inspecting proxies).

Marked slow: two whole matrices (about 2 minutes), run by `make check` and CI, not by the
fast loop. Determinism contract: loopback only, OS-chosen ports, a timeout on every run.
Tolerance: the matrices' own budgets (500 ms p95, scenarios/tls.toml and corporate_ws.toml).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import gauntlet_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_tls_matrix_https_saves_sse_only_from_a_proxy_that_cannot_see_inside(tmp_path):
    done = subprocess.run(
        gauntlet_cmd(
            "run", "--matrix", "tls", "--no-plots", "--no-calibration", "--results", str(tmp_path)
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    cells = {
        c["id"]: c for c in json.loads((tmp_path / "latest" / "results.json").read_text())["cells"]
    }
    assert done.returncode == 0, done.stdout[-3000:]
    assert len(cells) == 18
    assert cells["sse-old_proxy_connect_only"]["metrics"]["delivered"] == 0
    assert cells["sse-old_proxy_connect_only-https"]["metrics"]["delivered"] == 10
    assert cells["sse-ssl_inspection-h2"]["metrics"]["delivered"] == 0


@pytest.fixture(scope="module")
def corporate_ws(tmp_path_factory):
    results = tmp_path_factory.mktemp("corporate_ws")
    done = subprocess.run(
        gauntlet_cmd(
            "run",
            "--matrix",
            "corporate_ws",
            "--no-plots",
            "--no-calibration",
            "--jobs",
            "2",
            "--results",
            str(results),
        ),
        capture_output=True,
        text=True,
        timeout=400,
    )
    doc = json.loads((results / "latest" / "results.json").read_text())
    return done, {c["id"]: c for c in doc["cells"]}


def test_websocket_through_corporate_forward_proxies(corporate_ws):
    """ws:// and wss:// go through the forward proxy's CONNECT tunnel, as a browser's do:
    an inspecting proxy that refuses upgrades is what answers 403 (the server never sees
    the /ws request), one that kills them makes the plain client flap while the engine.io-
    style client gives up probing and stays on polling. The tunnel-only proxy allows CONNECT
    to 443 only (Debian squid's SSL_ports): wss:// passes, ws:// (port 80) gets 403."""
    done, cells = corporate_ws
    assert done.returncode == 0, done.stdout + done.stderr
    for suffix in ("", "-https"):  # h1 cells have no protocol suffix
        refused = cells[f"websocket-ssl_inspection_no_websocket{suffix}"]
        assert all("403" in c["ended"] for c in refused["connections"])
        assert not [s for s in refused["server_saw"] if "/ws" in s]
        assert cells[f"websocket-zscaler_class{suffix}"]["metrics"]["reconnects"] >= 3
        for proxy in ("ssl_inspection_no_websocket", "zscaler_class"):
            notes = cells[f"websocket_fallback-{proxy}{suffix}"]["notes"]
            assert any("given up after 3 failed probes" in n for n in notes), notes
    tunnelled = cells["websocket-old_proxy_connect_only-https"]
    assert tunnelled["metrics"]["reconnects"] == 0
    assert [s for s in tunnelled["server_saw"] if "/ws" in s]
    port_80 = cells["websocket-old_proxy_connect_only"]
    assert port_80["connections"] and all("403" in c["ended"] for c in port_80["connections"])
    assert not [s for s in port_80["server_saw"] if "/ws" in s]
